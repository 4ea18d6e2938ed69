namespace Okap.Core.Accounts;

/// <summary>Owners, local accounts and external logins.</summary>
public interface IOwnerStore
{
    Task CreateOwnerAsync(Owner owner, LocalAccount? account, CancellationToken ct);
    Task<Owner?> GetOwnerAsync(string ownerId, CancellationToken ct);
    Task<Owner?> FindOwnerBySlugAsync(string slug, CancellationToken ct);
    Task<int> CountOwnersAsync(CancellationToken ct);
    /// <summary>Up to <paramref name="max"/> owners, oldest first (single-user resolution and operator tooling).</summary>
    Task<IReadOnlyList<Owner>> ListOwnersAsync(int max, CancellationToken ct);
    Task<LocalAccount?> FindAccountAsync(string normalisedUserName, CancellationToken ct);
    Task UpdateAccountAsync(LocalAccount account, CancellationToken ct);
    Task<string?> FindExternalLoginAsync(string issuer, string subject, CancellationToken ct);
    /// <summary>Creates the owner and links the login; returns false when the login is already linked.</summary>
    Task<bool> CreateOwnerWithExternalLoginAsync(Owner owner, ExternalLogin login, CancellationToken ct);
}
