using Microsoft.AspNetCore.DataProtection;
using Okap.Core.Keys;
using Okap.Storage.DataProtection;

namespace Okap.Storage.Sqlite;

/// <summary>
/// Master keys encrypted with ASP.NET Core Data Protection and kept in the <c>master_key_secrets</c> table of the
/// same SQLite file. Each row is protected under a purpose chain ending in its owner id and provider, so a
/// ciphertext copied to another row does not decrypt.
/// </summary>
/// <remarks>The Data Protection key ring must outlive the database: losing it makes every stored key unreadable.</remarks>
public sealed class DataProtectionSecretStore : ISecretStore
{
    /// <summary>Root Data Protection purpose of master keys (both stores share it).</summary>
    public const string Purpose = MasterKeyProtector.Purpose;

    private readonly SqliteDatabase _db;
    private readonly MasterKeyProtector _protector;

    public DataProtectionSecretStore(SqliteVaultStores stores, IDataProtectionProvider dataProtection)
    {
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(dataProtection);
        _db = stores.Database;
        _protector = new MasterKeyProtector(dataProtection);
    }

    public Task SetAsync(string ownerId, string provider, string secret, CancellationToken ct)
    {
        var ciphertext = _protector.Protect(ownerId, provider, secret);
        return _db.WriteAsync(async (c, tx, t) =>
        {
            await using var upsert = c.Command("""
                INSERT INTO master_key_secrets (owner_id, provider, ciphertext, updated_at) VALUES (@o, @p, @c, @at)
                ON CONFLICT (owner_id, provider) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at;
                """, tx)
                .With("@o", ownerId).With("@p", provider).With("@c", ciphertext).With("@at", Db.Time(DateTimeOffset.UtcNow));
            await upsert.ExecuteNonQueryAsync(t);
        }, ct);
    }

    public async Task<string?> GetAsync(string ownerId, string provider, CancellationToken ct)
    {
        var ciphertext = await _db.ReadAsync(async (c, t) =>
        {
            await using var query = c.Command("SELECT ciphertext FROM master_key_secrets WHERE owner_id = @o AND provider = @p;")
                .With("@o", ownerId).With("@p", provider);
            return (string?)await query.ExecuteScalarAsync(t);
        }, ct).ConfigureAwait(false);
        return ciphertext is null ? null : _protector.Unprotect(ownerId, provider, ciphertext);
    }

    public Task DeleteAsync(string ownerId, string provider, CancellationToken ct) =>
        _db.WriteAsync(async (c, tx, t) =>
        {
            await using var delete = c.Command("DELETE FROM master_key_secrets WHERE owner_id = @o AND provider = @p;", tx)
                .With("@o", ownerId).With("@p", provider);
            await delete.ExecuteNonQueryAsync(t);
        }, ct);
}
