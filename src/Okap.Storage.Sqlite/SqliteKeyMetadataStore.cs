using Microsoft.Data.Sqlite;
using Okap.Core.Keys;

namespace Okap.Storage.Sqlite;

/// <summary>Master key metadata (label, last four, base URL); the keys themselves are in <see cref="DataProtectionSecretStore"/>.</summary>
internal sealed class SqliteKeyMetadataStore(SqliteDatabase db) : IKeyMetadataStore
{
    private const string Columns = "owner_id, provider, label, last4, base_url, auth_kind, created_at, updated_at";

    public Task UpsertAsync(MasterKeyInfo key, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var upsert = c.Command($"""
                INSERT INTO master_keys ({Columns}) VALUES (@o, @p, @label, @last4, @base_url, @auth_kind, @created_at, @updated_at)
                ON CONFLICT (owner_id, provider) DO UPDATE SET
                    label = excluded.label, last4 = excluded.last4, base_url = excluded.base_url, auth_kind = excluded.auth_kind,
                    created_at = excluded.created_at, updated_at = excluded.updated_at;
                """, tx)
                .With("@o", key.OwnerId).With("@p", key.Provider).With("@label", key.Label).With("@last4", key.Last4)
                .With("@base_url", key.BaseUrl).With("@auth_kind", key.AuthKind)
                .With("@created_at", Db.Time(key.CreatedAt)).With("@updated_at", Db.Time(key.UpdatedAt));
            await upsert.ExecuteNonQueryAsync(t);
        }, ct);
    }

    public Task<MasterKeyInfo?> GetAsync(string ownerId, string provider, CancellationToken ct) =>
        db.ReadAsync<MasterKeyInfo?>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM master_keys WHERE owner_id = @o AND provider = @p;")
                .With("@o", ownerId).With("@p", provider);
            await using var reader = await query.ExecuteReaderAsync(t);
            return await reader.ReadAsync(t) ? Map(reader) : null;
        }, ct);

    public Task<IReadOnlyList<MasterKeyInfo>> ListAsync(string ownerId, CancellationToken ct) =>
        db.ReadAsync<IReadOnlyList<MasterKeyInfo>>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM master_keys WHERE owner_id = @o ORDER BY provider;").With("@o", ownerId);
            await using var reader = await query.ExecuteReaderAsync(t);
            var items = new List<MasterKeyInfo>();
            while (await reader.ReadAsync(t)) items.Add(Map(reader));
            return items;
        }, ct);

    public Task<bool> DeleteAsync(string ownerId, string provider, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using var delete = c.Command("DELETE FROM master_keys WHERE owner_id = @o AND provider = @p;", tx)
                .With("@o", ownerId).With("@p", provider);
            return await delete.ExecuteNonQueryAsync(t) > 0;
        }, ct);

    private static MasterKeyInfo Map(SqliteDataReader r) => new()
    {
        OwnerId = r.GetString(0),
        Provider = r.GetString(1),
        Label = r.GetNullableString(2),
        Last4 = r.GetString(3),
        BaseUrl = r.GetNullableString(4),
        AuthKind = r.GetString(5),
        CreatedAt = r.GetTime(6),
        UpdatedAt = r.GetTime(7),
    };
}
