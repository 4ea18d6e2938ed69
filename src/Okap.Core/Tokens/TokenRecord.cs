namespace Okap.Core.Tokens;

/// <summary>An issued OKAP token. The token itself is never stored: <see cref="Hash"/> is SHA-256 of it.</summary>
public sealed record TokenRecord
{
    /// <summary>Public id used by the admin API (not secret).</summary>
    public required string Id { get; init; }
    /// <summary>Lower-case hex SHA-256 of the token; the lookup key.</summary>
    public required string Hash { get; init; }
    public required string OwnerId { get; init; }
    public string? RequestId { get; init; }
    public required string AppName { get; init; }
    public string? AppUrl { get; init; }
    /// <summary>First characters of the token, for recognising it on screen.</summary>
    public required string DisplayPrefix { get; init; }
    public required IReadOnlyList<Grant> Grants { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>Earliest expiry among the grants; null when none expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    public DateTimeOffset? LastUsedAt { get; init; }

    public Grant? GrantFor(string provider)
    {
        foreach (var grant in Grants)
        {
            if (string.Equals(grant.Provider, provider, StringComparison.Ordinal)) return grant;
        }
        return null;
    }
}
