using Microsoft.Data.Sqlite;
using Okap.Core.Accounts;

namespace Okap.Storage.Sqlite;

internal sealed class SqliteAccessKeyStore(SqliteDatabase db) : IAccessKeyStore
{
    private const string Columns = "hash, id, owner_id, name, display_prefix, created_at, expires_at, revoked_at, scopes, last_used_at";

    public Task CreateAsync(PersonalAccessKey key, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var insert = c.Command($"INSERT INTO access_keys ({Columns}) VALUES (@hash, @id, @o, @name, @prefix, @created_at, @expires_at, @revoked_at, @scopes, @last_used_at);", tx)
                .With("@hash", key.Hash).With("@id", key.Id).With("@o", key.OwnerId).With("@name", key.Name)
                .With("@prefix", key.DisplayPrefix).With("@created_at", Db.Time(key.CreatedAt))
                .With("@expires_at", Db.Time(key.ExpiresAt)).With("@revoked_at", Db.Time(key.RevokedAt))
                .With("@scopes", key.Scopes is null ? null : string.Join(' ', key.Scopes)).With("@last_used_at", Db.Time(key.LastUsedAt));
            await insert.ExecuteNonQueryAsync(t);
        }, ct);
    }

    /// <summary>Primary-key point read on <c>hash</c> (authentication lookup, so not owner-scoped).</summary>
    public Task<PersonalAccessKey?> FindByHashAsync(string hash, CancellationToken ct) =>
        db.ReadAsync<PersonalAccessKey?>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM access_keys WHERE hash = @h;").With("@h", hash);
            await using var reader = await query.ExecuteReaderAsync(t);
            return await reader.ReadAsync(t) ? Map(reader) : null;
        }, ct);

    /// <summary>Newest first.</summary>
    public Task<IReadOnlyList<PersonalAccessKey>> ListAsync(string ownerId, CancellationToken ct) =>
        db.ReadAsync<IReadOnlyList<PersonalAccessKey>>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM access_keys WHERE owner_id = @o ORDER BY created_at DESC, id DESC;").With("@o", ownerId);
            await using var reader = await query.ExecuteReaderAsync(t);
            var items = new List<PersonalAccessKey>();
            while (await reader.ReadAsync(t)) items.Add(Map(reader));
            return items;
        }, ct);

    /// <summary>True when the owner has this key (revoking again keeps the first <see cref="PersonalAccessKey.RevokedAt"/>).</summary>
    public Task<bool> RevokeAsync(string ownerId, string keyId, DateTimeOffset at, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using var update = c.Command("UPDATE access_keys SET revoked_at = COALESCE(revoked_at, @at) WHERE owner_id = @o AND id = @id;", tx)
                .With("@at", Db.Time(at)).With("@o", ownerId).With("@id", keyId);
            return await update.ExecuteNonQueryAsync(t) > 0;
        }, ct);

    public Task MarkUsedAsync(PersonalAccessKey key, DateTimeOffset at, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using var update = c.Command("UPDATE access_keys SET last_used_at = @at WHERE hash = @h;", tx).With("@at", Db.Time(at)).With("@h", key.Hash);
            await update.ExecuteNonQueryAsync(t);
        }, ct);

    private static PersonalAccessKey Map(SqliteDataReader r) => new()
    {
        Hash = r.GetString(0),
        Id = r.GetString(1),
        OwnerId = r.GetString(2),
        Name = r.GetString(3),
        DisplayPrefix = r.GetString(4),
        CreatedAt = r.GetTime(5),
        ExpiresAt = r.GetNullableTime(6),
        RevokedAt = r.GetNullableTime(7),
        // Null on keys from before scopes (migration 4): they act with AccessKeyScopes.Legacy.
        Scopes = r.GetNullableString(8)?.Split(' ', StringSplitOptions.RemoveEmptyEntries),
        LastUsedAt = r.GetNullableTime(9),
    };
}
