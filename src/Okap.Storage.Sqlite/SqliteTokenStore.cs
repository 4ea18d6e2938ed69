using Microsoft.Data.Sqlite;
using Okap.Core;
using Okap.Core.Tokens;

namespace Okap.Storage.Sqlite;

/// <summary>Issued tokens, keyed by the SHA-256 of the token (the token itself is never stored).</summary>
internal sealed class SqliteTokenStore(SqliteDatabase db) : ITokenStore
{
    private const string Columns =
        "hash, id, owner_id, request_id, app_name, app_url, display_prefix, grants, created_at, expires_at, revoked_at, last_used_at";

    public Task CreateAsync(TokenRecord token, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(token);
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var insert = c.Command($"""
                INSERT INTO tokens ({Columns}) VALUES (
                    @hash, @id, @owner_id, @request_id, @app_name, @app_url, @display_prefix, @grants, @created_at, @expires_at, @revoked_at, @last_used_at);
                """, tx)
                .With("@hash", token.Hash).With("@id", token.Id).With("@owner_id", token.OwnerId).With("@request_id", token.RequestId)
                .With("@app_name", token.AppName).With("@app_url", token.AppUrl).With("@display_prefix", token.DisplayPrefix)
                .With("@grants", Db.Grants(token.Grants)).With("@created_at", Db.Time(token.CreatedAt))
                .With("@expires_at", Db.Time(token.ExpiresAt)).With("@revoked_at", Db.Time(token.RevokedAt))
                .With("@last_used_at", Db.Time(token.LastUsedAt));
            await insert.ExecuteNonQueryAsync(t);
        }, ct);
    }

    /// <summary>Primary-key point read on <c>hash</c>.</summary>
    public Task<TokenRecord?> FindByHashAsync(string hash, CancellationToken ct) =>
        db.ReadAsync<TokenRecord?>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM tokens WHERE hash = @h;").With("@h", hash);
            await using var reader = await query.ExecuteReaderAsync(t);
            return await reader.ReadAsync(t) ? Map(reader) : null;
        }, ct);

    public Task<TokenRecord?> GetAsync(string ownerId, string tokenId, CancellationToken ct) =>
        db.ReadAsync((c, t) => GetCoreAsync(c, null, ownerId, tokenId, t), ct);

    public Task<Page<TokenRecord>> ListAsync(string ownerId, int pageSize, string? continuationToken, CancellationToken ct)
    {
        Db.CheckPageSize(pageSize);
        return db.ReadAsync((c, t) => Db.PageAsync(
            c, $"SELECT {Columns} FROM tokens WHERE owner_id = @o", "created_at",
            command => command.With("@o", ownerId),
            Map,
            r => (r.CreatedAt, r.Id),
            pageSize, continuationToken, t), ct);
    }

    public Task<TokenRecord?> RevokeAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using (var update = c.Command(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, @at) WHERE owner_id = @o AND id = @id;", tx)
                .With("@at", Db.Time(at)).With("@o", ownerId).With("@id", tokenId))
            {
                if (await update.ExecuteNonQueryAsync(t) == 0) return null;
            }
            return await GetCoreAsync(c, tx, ownerId, tokenId, t);
        }, ct);

    public Task<TokenRecord?> ReplaceGrantsAsync(string ownerId, string tokenId, IReadOnlyList<Grant> expected, IReadOnlyList<Grant> grants,
        DateTimeOffset? expiresAt, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using (var update = c.Command(
                "UPDATE tokens SET grants = @grants, expires_at = @exp WHERE owner_id = @o AND id = @id AND grants = @expected;", tx)
                .With("@grants", Db.Grants(grants)).With("@exp", Db.Time(expiresAt)).With("@o", ownerId).With("@id", tokenId)
                .With("@expected", Db.Grants(expected)))
            {
                await update.ExecuteNonQueryAsync(t);
            }
            return await GetCoreAsync(c, tx, ownerId, tokenId, t);
        }, ct);

    public Task TouchAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using var update = c.Command(
                "UPDATE tokens SET last_used_at = @at WHERE owner_id = @o AND id = @id AND (last_used_at IS NULL OR last_used_at < @at);", tx)
                .With("@at", Db.Time(at)).With("@o", ownerId).With("@id", tokenId);
            await update.ExecuteNonQueryAsync(t);
        }, ct);

    public Task DeleteAsync(string ownerId, string tokenId, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using var delete = c.Command("DELETE FROM tokens WHERE owner_id = @o AND id = @id;", tx)
                .With("@o", ownerId).With("@id", tokenId);
            await delete.ExecuteNonQueryAsync(t);
        }, ct);

    private static async Task<TokenRecord?> GetCoreAsync(SqliteConnection c, SqliteTransaction? tx, string ownerId, string tokenId, CancellationToken ct)
    {
        await using var query = c.Command($"SELECT {Columns} FROM tokens WHERE owner_id = @o AND id = @id;", tx)
            .With("@o", ownerId).With("@id", tokenId);
        await using var reader = await query.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Map(reader) : null;
    }

    private static TokenRecord Map(SqliteDataReader r) => new()
    {
        Hash = r.GetString(0),
        Id = r.GetString(1),
        OwnerId = r.GetString(2),
        RequestId = r.GetNullableString(3),
        AppName = r.GetString(4),
        AppUrl = r.GetNullableString(5),
        DisplayPrefix = r.GetString(6),
        Grants = r.ReadGrants(7),
        CreatedAt = r.GetTime(8),
        ExpiresAt = r.GetNullableTime(9),
        RevokedAt = r.GetNullableTime(10),
        LastUsedAt = r.GetNullableTime(11),
    };
}
