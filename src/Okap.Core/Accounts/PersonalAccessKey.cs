namespace Okap.Core.Accounts;

/// <summary>A personal access key for the admin API. Stored hashed; shown once.</summary>
public sealed record PersonalAccessKey
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required string Name { get; init; }
    public required string Hash { get; init; }
    public required string DisplayPrefix { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    /// <summary>What the key may do (see <see cref="AccessKeyScopes"/>); null on a key created before scopes existed.</summary>
    public IReadOnlyList<string>? Scopes { get; init; }
    /// <summary>When the key last authenticated a call, to within <see cref="AccessKeyScopes.LastUsedResolution"/>.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>The scopes the key acts with: its own, or for a key from before scopes, <see cref="AccessKeyScopes.Legacy"/>.</summary>
    public IReadOnlyList<string> EffectiveScopes => Scopes ?? AccessKeyScopes.Legacy;
}
