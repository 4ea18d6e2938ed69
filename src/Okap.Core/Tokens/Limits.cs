namespace Okap.Core.Tokens;

/// <summary>Limits of one grant. Money is held in integer micro-dollars (1 USD = 1,000,000).</summary>
public sealed record Limits
{
    public long? MonthlySpendMicros { get; init; }
    public long? DailySpendMicros { get; init; }
    public int? RequestsPerMinute { get; init; }
    public int? RequestsPerDay { get; init; }
    public int? TokensPerRequest { get; init; }

    public static Limits None { get; } = new();

    /// <summary>True when any spend cap is set, so every call must be priced.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasSpendCap => MonthlySpendMicros is not null || DailySpendMicros is not null;

    /// <summary>True when any limit is set: such a grant may call only routes the vault meters (a batch counts as one call).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasAnyLimit => HasSpendCap || RequestsPerMinute is not null || RequestsPerDay is not null || TokensPerRequest is not null;
}
