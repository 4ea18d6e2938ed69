namespace Okap.Core.Tokens;

/// <summary>Issued tokens.</summary>
public interface ITokenStore
{
    Task CreateAsync(TokenRecord token, CancellationToken ct);
    /// <summary>The data-plane lookup: one point read by hash.</summary>
    Task<TokenRecord?> FindByHashAsync(string hash, CancellationToken ct);
    Task<TokenRecord?> GetAsync(string ownerId, string tokenId, CancellationToken ct);
    /// <summary>Newest first.</summary>
    Task<Page<TokenRecord>> ListAsync(string ownerId, int pageSize, string? continuationToken, CancellationToken ct);
    /// <summary>Sets <see cref="TokenRecord.RevokedAt"/> if not yet set. Returns the token as stored afterwards, or null if not found.</summary>
    Task<TokenRecord?> RevokeAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct);
    /// <summary>
    /// Replaces a token's grants and expiry if its grants are still <paramref name="expected"/> (an owner's narrowing,
    /// checked against what they saw). Returns the token as stored afterwards — with <paramref name="grants"/> when
    /// it applied, with someone else's change when it did not — or null if there is no such token. The data plane
    /// sees the change first, so a narrowed token never works wider once this returns.
    /// </summary>
    Task<TokenRecord?> ReplaceGrantsAsync(string ownerId, string tokenId, IReadOnlyList<Grant> expected, IReadOnlyList<Grant> grants,
        DateTimeOffset? expiresAt, CancellationToken ct);
    /// <summary>Raises <see cref="TokenRecord.LastUsedAt"/> (never lowers it).</summary>
    Task TouchAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct);
    /// <summary>Removes a token never handed over (used when a hand-over loses a race).</summary>
    Task DeleteAsync(string ownerId, string tokenId, CancellationToken ct);
}
