using Microsoft.Data.Sqlite;
using Okap.Core.Policies;
using Okap.Core.Tokens;

namespace Okap.Storage.Sqlite;

internal sealed class SqlitePolicyStore(SqliteDatabase db) : IPolicyStore
{
    private const string Columns = "owner_id, id, name, app_name, providers, models, capabilities, max_limits, max_days, enabled, created_at";

    public Task UpsertAsync(AutoApprovePolicy policy, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var upsert = c.Command($"""
                INSERT INTO policies ({Columns}) VALUES (@o, @id, @name, @app, @providers, @models, @capabilities, @limits, @days, @enabled, @created_at)
                ON CONFLICT (owner_id, id) DO UPDATE SET
                    name = excluded.name, app_name = excluded.app_name, providers = excluded.providers, models = excluded.models,
                    capabilities = excluded.capabilities, max_limits = excluded.max_limits, max_days = excluded.max_days,
                    enabled = excluded.enabled, created_at = excluded.created_at;
                """, tx)
                .With("@o", policy.OwnerId).With("@id", policy.Id).With("@name", policy.Name).With("@app", policy.AppName)
                .With("@providers", Db.Strings(policy.Providers)).With("@models", Db.Strings(policy.Models))
                .With("@capabilities", Db.Strings(policy.Capabilities))
                .With("@limits", Db.Json(policy.MaxLimits ?? Limits.None, SqliteJsonContext.Default.Limits))
                .With("@days", policy.MaxDays).With("@enabled", policy.Enabled ? 1 : 0).With("@created_at", Db.Time(policy.CreatedAt));
            await upsert.ExecuteNonQueryAsync(t);
        }, ct);
    }

    public Task<AutoApprovePolicy?> GetAsync(string ownerId, string policyId, CancellationToken ct) =>
        db.ReadAsync<AutoApprovePolicy?>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM policies WHERE owner_id = @o AND id = @id;")
                .With("@o", ownerId).With("@id", policyId);
            await using var reader = await query.ExecuteReaderAsync(t);
            return await reader.ReadAsync(t) ? Map(reader) : null;
        }, ct);

    /// <summary>Oldest first (creation order), so evaluation order is stable.</summary>
    public Task<IReadOnlyList<AutoApprovePolicy>> ListAsync(string ownerId, CancellationToken ct) =>
        db.ReadAsync<IReadOnlyList<AutoApprovePolicy>>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM policies WHERE owner_id = @o ORDER BY created_at, id;").With("@o", ownerId);
            await using var reader = await query.ExecuteReaderAsync(t);
            var items = new List<AutoApprovePolicy>();
            while (await reader.ReadAsync(t)) items.Add(Map(reader));
            return items;
        }, ct);

    public Task<bool> DeleteAsync(string ownerId, string policyId, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using var delete = c.Command("DELETE FROM policies WHERE owner_id = @o AND id = @id;", tx)
                .With("@o", ownerId).With("@id", policyId);
            return await delete.ExecuteNonQueryAsync(t) > 0;
        }, ct);

    private static AutoApprovePolicy Map(SqliteDataReader r) => new()
    {
        OwnerId = r.GetString(0),
        Id = r.GetString(1),
        Name = r.GetString(2),
        AppName = r.GetNullableString(3),
        Providers = r.ReadStrings(4),
        Models = r.ReadStrings(5),
        Capabilities = r.ReadStrings(6),
        MaxLimits = Db.FromJson(r.GetString(7), SqliteJsonContext.Default.Limits),
        MaxDays = r.GetNullableInt32(8),
        Enabled = r.GetInt64(9) != 0,
        CreatedAt = r.GetTime(10),
    };
}
