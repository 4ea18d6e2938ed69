using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Okap.Core;

namespace Okap.Storage.DataProtection;

/// <summary>
/// Encrypts master keys with ASP.NET Core Data Protection for the stores that keep them beside their own data (SQLite,
/// and Azure tables for local runs on Azurite). Each value is protected under a purpose chain ending in its owner id and
/// provider, so a ciphertext copied to another row does not decrypt; the chain is the same for both stores.
/// </summary>
public sealed class MasterKeyProtector
{
    /// <summary>Root Data Protection purpose of master keys.</summary>
    public const string Purpose = "Okap.MasterKeys.v1";

    private readonly IDataProtector _root;

    /// <summary>Creates the protector from the host's Data Protection key ring.</summary>
    public MasterKeyProtector(IDataProtectionProvider dataProtection)
    {
        ArgumentNullException.ThrowIfNull(dataProtection);
        _root = dataProtection.CreateProtector(Purpose);
    }

    /// <summary>The ciphertext of <paramref name="secret"/>, bound to <paramref name="ownerId"/> and <paramref name="provider"/>.</summary>
    public string Protect(string ownerId, string provider, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentNullException.ThrowIfNull(secret);
        return For(ownerId, provider).Protect(secret);
    }

    /// <summary>The master key in <paramref name="ciphertext"/>; fails closed with <see cref="VaultUnavailableException"/> when it does not decrypt.</summary>
    public string Unprotect(string ownerId, string provider, string ciphertext)
    {
        try
        {
            return For(ownerId, provider).Unprotect(ciphertext);
        }
        catch (CryptographicException ex)
        {
            // The message names neither the key nor the ciphertext.
            throw new VaultUnavailableException(
                "A stored master key could not be decrypted; the Data Protection key ring may be missing or different.", ex);
        }
    }

    private IDataProtector For(string ownerId, string provider) => _root.CreateProtector("owner:" + ownerId, "provider:" + provider);
}
