using System.Globalization;
using Okap.Core.Accounts.SignIn;

namespace Okap.Storage.Sqlite;

internal sealed class SqliteSignInStore(SqliteDatabase db) : ISignInStore
{
    public Task<StoredSignInState?> ReadStateAsync(string ownerId, CancellationToken ct) =>
        db.ReadAsync(async (c, t) =>
        {
            await using var query = c.Command("SELECT state, version FROM owner_sign_in WHERE owner_id = @o;").With("@o", ownerId);
            await using var reader = await query.ExecuteReaderAsync(t);
            if (!await reader.ReadAsync(t)) return null;
            return new StoredSignInState(reader.GetString(0), reader.GetInt64(1).ToString(CultureInfo.InvariantCulture));
        }, ct);

    public Task<bool> TryWriteStateAsync(string ownerId, string json, string? expectedVersion, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            if (expectedVersion is null)
            {
                await using var insert = c.Command("INSERT INTO owner_sign_in (owner_id, state, version) VALUES (@o, @s, 1) ON CONFLICT (owner_id) DO NOTHING;", tx)
                    .With("@o", ownerId).With("@s", json);
                return await insert.ExecuteNonQueryAsync(t) == 1;
            }
            if (!long.TryParse(expectedVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var version)) return false;
            await using var update = c.Command("UPDATE owner_sign_in SET state = @s, version = version + 1 WHERE owner_id = @o AND version = @v;", tx)
                .With("@o", ownerId).With("@s", json).With("@v", version);
            return await update.ExecuteNonQueryAsync(t) == 1;
        }, ct);

    public Task<int> CountFailureAsync(string addressKey, DateTimeOffset window, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            // One statement: concurrent failures each add one, and a new window starts the count again.
            await using var upsert = c.Command("""
                INSERT INTO sign_in_failures (address_key, window_start, failures) VALUES (@k, @w, 1)
                ON CONFLICT (address_key) DO UPDATE SET
                    failures = CASE WHEN window_start = excluded.window_start THEN failures + 1 ELSE 1 END,
                    window_start = excluded.window_start
                RETURNING failures;
                """, tx).With("@k", addressKey).With("@w", Db.Time(window));
            return Convert.ToInt32(await upsert.ExecuteScalarAsync(t), CultureInfo.InvariantCulture);
        }, ct);

    public Task<int> ReadFailuresAsync(string addressKey, DateTimeOffset window, CancellationToken ct) =>
        db.ReadAsync(async (c, t) =>
        {
            await using var query = c.Command("SELECT failures FROM sign_in_failures WHERE address_key = @k AND window_start = @w;")
                .With("@k", addressKey).With("@w", Db.Time(window));
            return await query.ExecuteScalarAsync(t) is { } count ? Convert.ToInt32(count, CultureInfo.InvariantCulture) : 0;
        }, ct);
}
