namespace Okap.Core.Keys;

/// <summary>Where master keys themselves live: Data Protection-encrypted rows, or Azure Key Vault.</summary>
public interface ISecretStore
{
    /// <summary>Stores the key, replacing any earlier one.</summary>
    Task SetAsync(string ownerId, string provider, string secret, CancellationToken ct);
    /// <summary>Null when no key is stored. Throws <see cref="VaultUnavailableException"/> when the store cannot be reached.</summary>
    Task<string?> GetAsync(string ownerId, string provider, CancellationToken ct);
    Task DeleteAsync(string ownerId, string provider, CancellationToken ct);
}
