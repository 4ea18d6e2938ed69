namespace Okap.Core.Metering;

/// <summary>Usage counters of one grant (token + provider) over one period.</summary>
/// <param name="GrantKey">Token id and provider, see <see cref="UsageKeys.Grant"/>.</param>
/// <param name="Period">Day <c>d:2026-11-24</c> or month <c>m:2026-11</c> (UTC), see <see cref="UsageKeys"/>.</param>
public sealed record UsageCounter(
    string OwnerId,
    string GrantKey,
    string Period,
    long Requests,
    long InputTokens,
    long OutputTokens,
    long CostMicros);
