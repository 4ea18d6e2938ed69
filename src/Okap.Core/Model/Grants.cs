namespace Okap.Core.Model;

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

/// <summary>Access to one provider: which models and capabilities, within which limits, until when.</summary>
/// <param name="Provider">Provider id, e.g. <c>openai</c>.</param>
/// <param name="Models">Allowed models; empty means every model.</param>
/// <param name="Capabilities">Allowed capabilities; empty means every capability.</param>
/// <param name="Limits">Rate, size and spend limits.</param>
/// <param name="ExpiresAt">End of the grant; null means no expiry.</param>
public sealed record Grant(
    string Provider,
    IReadOnlyList<string> Models,
    IReadOnlyList<string> Capabilities,
    Limits Limits,
    DateTimeOffset? ExpiresAt)
{
    public bool AllowsModel(string? model) =>
        Models.Count == 0 || (model is not null && Models.Contains(model, StringComparer.Ordinal));

    public bool AllowsCapability(string? capability) =>
        Capabilities.Count == 0 || (capability is not null && Capabilities.Contains(capability, StringComparer.Ordinal));
}
