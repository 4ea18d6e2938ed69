using Okap.Core.Tokens;

namespace Okap.Core.Metering;

/// <summary>Usage and what is left of one period (day or month) for one grant. Money in micro-dollars.</summary>
/// <param name="Period">Usage period key, e.g. <c>d:2026-11-24</c> or <c>m:2026-11</c>.</param>
/// <param name="ReservedMicros">Held by calls still running on this instance.</param>
/// <param name="LimitMicros">The spend cap; null when uncapped.</param>
/// <param name="RemainingMicros">Cap minus used and reserved (never negative); null when uncapped.</param>
public sealed record PeriodBudget(
    string Period,
    long Requests,
    long InputTokens,
    long OutputTokens,
    long CostMicros,
    long ReservedMicros,
    long? LimitMicros,
    long? RemainingMicros);

/// <summary>A request-count limit and where it stands.</summary>
public sealed record RateBudget(int Limit, long Used, long Remaining);

/// <summary>Budget of one grant (token + provider).</summary>
public sealed record GrantBudget(
    string Provider,
    string GrantKey,
    PeriodBudget Day,
    PeriodBudget Month,
    RateBudget? RequestsPerMinute,
    RateBudget? RequestsPerDay,
    int? TokensPerRequest);

/// <summary>Budget of every grant of a token.</summary>
public sealed record TokenBudget(string OwnerId, string TokenId, DateTimeOffset At, IReadOnlyList<GrantBudget> Grants);

/// <summary>
/// Answers "how much has this token used and how much is left": the store's totals, overlaid by this instance's
/// in-memory counters where it has fresher ones (unflushed spend and live reservations).
/// </summary>
public sealed class BudgetService
{
    private readonly ITokenStore _tokens;
    private readonly IUsageStore _usage;
    private readonly BudgetLedger _ledger;
    private readonly TimeProvider _time;

    public BudgetService(ITokenStore tokens, IUsageStore usage, BudgetLedger ledger, TimeProvider time)
    {
        _tokens = tokens;
        _usage = usage;
        _ledger = ledger;
        _time = time;
    }

    /// <summary>The token's budget per grant, or null when the owner has no such token.</summary>
    public async Task<TokenBudget?> GetTokenBudgetAsync(string ownerId, string tokenId, CancellationToken ct = default)
    {
        var token = await _tokens.GetAsync(ownerId, tokenId, ct).ConfigureAwait(false);
        if (token is null) return null;
        var now = _time.GetUtcNow();
        var day = UsageKeys.Day(now);
        var month = UsageKeys.Month(now);
        var grants = new List<GrantBudget>(token.Grants.Count);
        foreach (var grant in token.Grants)
        {
            var key = UsageKeys.Grant(token.Id, grant.Provider);
            var daySnap = _ledger.Snapshot(key, day);
            var monthSnap = _ledger.Snapshot(key, month);
            if (daySnap is null || monthSnap is null)
            {
                var stored = await _usage.GetAsync(ownerId, key, [day, month], ct).ConfigureAwait(false);
                daySnap ??= Sum(stored, day);
                monthSnap ??= Sum(stored, month);
            }
            var limits = grant.Limits;
            var perMinute = limits.RequestsPerMinute is { } rpm ? await _ledger.RequestsPerMinuteAsync(ownerId, key, rpm, _usage, ct).ConfigureAwait(false) : null;
            var perDay = limits.RequestsPerDay is { } rpd ? Rate(rpd, daySnap.Value.Requests) : null;
            grants.Add(new GrantBudget(grant.Provider, key,
                Period(day, daySnap.Value, limits.DailySpendMicros),
                Period(month, monthSnap.Value, limits.MonthlySpendMicros),
                perMinute, perDay, limits.TokensPerRequest));
        }
        return new TokenBudget(ownerId, token.Id, now, grants);
    }

    private static PeriodSnapshot Sum(IReadOnlyList<UsageCounter> counters, string period)
    {
        long r = 0, i = 0, o = 0, c = 0;
        foreach (var u in counters)
        {
            if (u.Period != period) continue;
            r += u.Requests; i += u.InputTokens; o += u.OutputTokens; c += u.CostMicros;
        }
        return new PeriodSnapshot(r, i, o, c, 0);
    }

    private static RateBudget Rate(int limit, long used) => new(limit, used, Math.Max(0, limit - used));

    private static PeriodBudget Period(string period, PeriodSnapshot s, long? limit) =>
        new(period, s.Requests, s.InputTokens, s.OutputTokens, s.CostMicros, s.ReservedMicros, limit,
            limit is { } l ? Math.Max(0, l - s.CostMicros - s.ReservedMicros) : null);
}
