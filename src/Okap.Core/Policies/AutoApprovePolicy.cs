using Okap.Core.Tokens;

namespace Okap.Core.Policies;

/// <summary>An auto-approve rule ("headless" mode): requests it covers are decided at once.</summary>
public sealed record AutoApprovePolicy
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required string Name { get; init; }
    /// <summary>App name to match (case-insensitive); null matches any app.</summary>
    public string? AppName { get; init; }
    /// <summary>Providers covered; must be non-empty.</summary>
    public required IReadOnlyList<string> Providers { get; init; }
    /// <summary>Models that may be granted; empty means any.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];
    /// <summary>Capabilities that may be granted; empty means any.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];
    /// <summary>Caps applied to the grant; a missing or larger requested limit is lowered to the cap.</summary>
    public Limits MaxLimits { get; init; } = Limits.None;
    /// <summary>Longest grant in days; null means the requested expiry is kept.</summary>
    public int? MaxDays { get; init; }
    public bool Enabled { get; init; } = true;
    public required DateTimeOffset CreatedAt { get; init; }
}
