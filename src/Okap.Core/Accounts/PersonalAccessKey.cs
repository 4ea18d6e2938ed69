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
}
