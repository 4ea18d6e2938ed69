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
    /// <summary>
    /// Counts one failed sign-in atomically (concurrent failures, on any instance, are never lost). When the count
    /// reaches <paramref name="maxAttempts"/> the account is locked until <paramref name="lockUntil"/> and the count
    /// starts again. Returns the account as stored afterwards, or null when there is no such account.
    /// </summary>
    Task<LocalAccount?> RecordFailedSignInAsync(string normalisedUserName, int maxAttempts, DateTimeOffset lockUntil, CancellationToken ct);
    Task<string?> FindExternalLoginAsync(string issuer, string subject, CancellationToken ct);
    /// <summary>Creates the owner and links the login; returns false when the login is already linked.</summary>
    Task<bool> CreateOwnerWithExternalLoginAsync(Owner owner, ExternalLogin login, CancellationToken ct);
}
