using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Okap.Core;
using Okap.Core.Keys;

namespace Okap.Storage.Sqlite;

/// <summary>
/// Master keys encrypted with ASP.NET Core Data Protection and kept in the <c>master_key_secrets</c> table of the
/// same SQLite file. Each row is protected under a purpose chain ending in its owner id and provider, so a
/// ciphertext copied to another row does not decrypt.
/// </summary>
/// <remarks>The Data Protection key ring must outlive the database: losing it makes every stored key unreadable.</remarks>
public sealed class DataProtectionSecretStore : ISecretStore
{
    /// <summary>Root Data Protection purpose of master keys.</summary>
    public const string Purpose = "Okap.MasterKeys.v1";

    private readonly SqliteDatabase _db;
    private readonly IDataProtector _root;

    public DataProtectionSecretStore(SqliteVaultStores stores, IDataProtectionProvider dataProtection)
    {
        ArgumentNullException.ThrowIfNull(stores);
        ArgumentNullException.ThrowIfNull(dataProtection);
        _db = stores.Database;
        _root = dataProtection.CreateProtector(Purpose);
    }

    public Task SetAsync(string ownerId, string provider, string secret, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentNullException.ThrowIfNull(secret);
        var ciphertext = ProtectorFor(ownerId, provider).Protect(secret);
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
        if (ciphertext is null) return null;
        try
        {
            return ProtectorFor(ownerId, provider).Unprotect(ciphertext);
        }
        catch (CryptographicException ex)
        {
            // Fail closed; the message names neither the key nor the ciphertext.
            throw new VaultUnavailableException(
                "A stored master key could not be decrypted; the Data Protection key ring may be missing or different.", ex);
        }
    }

    public Task DeleteAsync(string ownerId, string provider, CancellationToken ct) =>
        _db.WriteAsync(async (c, tx, t) =>
        {
            await using var delete = c.Command("DELETE FROM master_key_secrets WHERE owner_id = @o AND provider = @p;", tx)
                .With("@o", ownerId).With("@p", provider);
            await delete.ExecuteNonQueryAsync(t);
        }, ct);

    private IDataProtector ProtectorFor(string ownerId, string provider) =>
        _root.CreateProtector("owner:" + ownerId, "provider:" + provider);
}
