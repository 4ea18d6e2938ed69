using Microsoft.Data.Sqlite;
using Okap.Core.Accounts;

namespace Okap.Storage.Sqlite;

internal sealed class SqliteOwnerStore(SqliteDatabase db) : IOwnerStore
{
    private const string OwnerColumns = "id, slug, display_name, created_at";
    private const string AccountColumns = "owner_id, user_name, password_hash";

    public Task CreateOwnerAsync(Owner owner, LocalAccount? account, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (account is not null && !string.Equals(account.OwnerId, owner.Id, StringComparison.Ordinal))
        {
            throw new ArgumentException("The account must belong to the owner being created.", nameof(account));
        }
        return db.WriteAsync(async (c, tx, t) =>
        {
            await InsertOwnerAsync(c, tx, owner, t);
            if (account is not null)
            {
                await using var insert = c.Command(
                    "INSERT INTO local_accounts (user_name, owner_id, password_hash, failed_attempts) VALUES (@u, @o, @h, 0);", tx)
                    .With("@u", account.UserName).With("@o", account.OwnerId).With("@h", account.PasswordHash);
                await insert.ExecuteNonQueryAsync(t);
            }
        }, ct);
    }

    public Task<Owner?> GetOwnerAsync(string ownerId, CancellationToken ct) =>
        QueryOwnerAsync($"SELECT {OwnerColumns} FROM owners WHERE id = @v;", ownerId, ct);

    public Task<Owner?> FindOwnerBySlugAsync(string slug, CancellationToken ct) =>
        QueryOwnerAsync($"SELECT {OwnerColumns} FROM owners WHERE slug = @v;", slug, ct);

    public Task<int> CountOwnersAsync(CancellationToken ct) =>
        db.ReadAsync(async (c, t) =>
        {
            await using var count = c.Command("SELECT COUNT(*) FROM owners;");
            return Convert.ToInt32(await count.ExecuteScalarAsync(t), System.Globalization.CultureInfo.InvariantCulture);
        }, ct);

    public Task<IReadOnlyList<Owner>> ListOwnersAsync(int max, CancellationToken ct) =>
        db.ReadAsync<IReadOnlyList<Owner>>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {OwnerColumns} FROM owners ORDER BY created_at, id LIMIT @n;").With("@n", Math.Max(0, max));
            await using var reader = await query.ExecuteReaderAsync(t);
            var owners = new List<Owner>();
            while (await reader.ReadAsync(t)) owners.Add(new Owner(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetTime(3)));
            return owners;
        }, ct);

    public Task<LocalAccount?> FindAccountAsync(string normalisedUserName, CancellationToken ct) =>
        db.ReadAsync(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {AccountColumns} FROM local_accounts WHERE user_name = @u;").With("@u", normalisedUserName);
            await using var reader = await query.ExecuteReaderAsync(t);
            if (!await reader.ReadAsync(t)) return null;
            return ReadAccount(reader);
        }, ct);

    /// <summary>Updates the account, or adds it when the owner has none under that name; never takes over another owner's user name.</summary>
    public Task UpdateAccountAsync(LocalAccount account, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(account);
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var upsert = c.Command("""
                INSERT INTO local_accounts (user_name, owner_id, password_hash, failed_attempts)
                VALUES (@u, @o, @h, 0)
                ON CONFLICT (user_name) DO UPDATE SET password_hash = excluded.password_hash
                WHERE local_accounts.owner_id = excluded.owner_id;
                """, tx)
                .With("@u", account.UserName).With("@o", account.OwnerId).With("@h", account.PasswordHash);
            if (await upsert.ExecuteNonQueryAsync(t) == 0)
            {
                throw new InvalidOperationException("The user name belongs to another owner.");
            }
        }, ct);
    }

    public Task<string?> FindExternalLoginAsync(string issuer, string subject, CancellationToken ct) =>
        db.ReadAsync(async (c, t) =>
        {
            await using var query = c.Command("SELECT owner_id FROM external_logins WHERE issuer = @i AND subject = @s;")
                .With("@i", issuer).With("@s", subject);
            return (string?)await query.ExecuteScalarAsync(t);
        }, ct);

    public Task<bool> CreateOwnerWithExternalLoginAsync(Owner owner, ExternalLogin login, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(login);
        if (!string.Equals(login.OwnerId, owner.Id, StringComparison.Ordinal))
        {
            throw new ArgumentException("The login must point at the owner being created.", nameof(login));
        }
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using (var exists = c.Command("SELECT 1 FROM external_logins WHERE issuer = @i AND subject = @s;", tx)
                .With("@i", login.Issuer).With("@s", login.Subject))
            {
                if (await exists.ExecuteScalarAsync(t) is not null) return false;
            }
            await InsertOwnerAsync(c, tx, owner, t);
            await using var link = c.Command("INSERT INTO external_logins (issuer, subject, owner_id) VALUES (@i, @s, @o);", tx)
                .With("@i", login.Issuer).With("@s", login.Subject).With("@o", owner.Id);
            await link.ExecuteNonQueryAsync(t);
            return true;
        }, ct);
    }

    private static async Task InsertOwnerAsync(SqliteConnection c, SqliteTransaction tx, Owner owner, CancellationToken ct)
    {
        await using var insert = c.Command("INSERT INTO owners (id, slug, display_name, created_at) VALUES (@id, @slug, @name, @at);", tx)
            .With("@id", owner.Id).With("@slug", owner.Slug).With("@name", owner.DisplayName).With("@at", Db.Time(owner.CreatedAt));
        await insert.ExecuteNonQueryAsync(ct);
    }

    /// <summary>A <see cref="LocalAccount"/> from a row read with <c>AccountColumns</c>.</summary>
    private static LocalAccount ReadAccount(SqliteDataReader reader) => new()
    {
        OwnerId = reader.GetString(0),
        UserName = reader.GetString(1),
        PasswordHash = reader.GetString(2),
    };

    private Task<Owner?> QueryOwnerAsync(string sql, string value, CancellationToken ct) =>
        db.ReadAsync(async (c, t) =>
        {
            await using var query = c.Command(sql).With("@v", value);
            await using var reader = await query.ExecuteReaderAsync(t);
            if (!await reader.ReadAsync(t)) return null;
            return new Owner(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetTime(3));
        }, ct);
}
