using System.Diagnostics;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Metering;
using Okap.Core.Providers;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// Counts the call against the grant's rate limits and reserves its worst-case cost against the spend caps, from the
/// budget lease this instance holds (renewed from the usage store when it runs low). Unmetered "other" routes still
/// count against the rate limits.
/// </summary>
internal sealed class ReserveBudgetStep(BudgetLedger ledger, IUsageStore usage, TimeProvider time, IOptions<OkapProxyOptions> options,
    RefusalWriter refusals) : IProxyStep
{
    // Rounds of "renew the lease, then reserve" one call may take when concurrent calls keep taking what was renewed.
    private const int MaxLeaseRounds = 50;

    private readonly OkapProxyOptions _options = options.Value;

    // An async method that completes without waiting (the lease is held) allocates nothing.
    public async ValueTask<bool> RunAsync(ProxyCall call)
    {
        if (!call.Route.IsMetered && call.Route.Kind != RouteKind.Other) return true;
        var worst = WorstCaseMicros(call);
        // "Not loaded" means the lease was renewed but concurrent calls took it first: renew again (each round is a
        // store round trip, so this is paced by the store) until the store grants or refuses, within the store timeout.
        var started = time.GetTimestamp();
        for (var attempt = 0; ; attempt++)
        {
            await EnsureLedgerReadyAsync(call, worst).ConfigureAwait(false);
            var result = ledger.TryReserve(call.Token.OwnerId, call.Token.Id, call.Provider, call.Grant.Limits, worst);
            if (result.Ok)
            {
                call.Reservation = result.Reservation;
                return true;
            }
            if (Renews(result, attempt, started)) continue;
            await RefuseLimitAsync(call, result, worst).ConfigureAwait(false);
            return false;
        }
    }

    private bool Renews(ReserveResult result, int attempt, long started) =>
        result.Refused == LimitKind.NotLoaded && attempt < MaxLeaseRounds && time.GetElapsedTime(started) < _options.StoreTimeout;

    /// <summary>The most the call can cost: zero without a spend cap or price.</summary>
    private long WorstCaseMicros(ProxyCall call)
    {
        var limits = call.Grant.Limits;
        if (!limits.HasSpendCap || call.Price is not { } price) return 0;
        var facts = call.Facts;
        long outBound = call.Route.Kind is RouteKind.Embeddings or RouteKind.GeminiEmbed or RouteKind.CohereEmbed or RouteKind.OllamaEmbed or RouteKind.Moderation
            ? 0
            : call.CapOutput ?? facts.MaxOutputTokens ?? limits.TokensPerRequest ?? price.MaxOutputTokens ?? _options.DefaultMaxOutputTokens;
        // Every input token is at least one byte: the body length bounds the input.
        // Each requested output (n, candidateCount) may use the whole ceiling.
        var outputs = (Int128)outBound * Math.Clamp(facts.Choices, 1, 128);
        return price.CostMicros(new TokenUsage(Math.Max(call.BodyLength, 1), 0, outputs > long.MaxValue ? long.MaxValue : (long)outputs));
    }

    private async ValueTask EnsureLedgerReadyAsync(ProxyCall call, long worst)
    {
        var load = ledger.EnsureReadyAsync(call.Token.OwnerId, call.Token.Id, call.Provider, call.Grant.Limits, worst, usage, CancellationToken.None);
        if (load.IsCompletedSuccessfully) return;
        var started = Stopwatch.GetTimestamp();
        try
        {
            await load.AsTask().WaitAsync(_options.StoreTimeout).ConfigureAwait(false);
            ProxyTelemetry.StoreCall("usage.load", started, null);
        }
        catch (Exception ex) when (ProxyTelemetry.StoreFailed("usage.load", started, ex))
        {
            throw;
        }
        catch (Exception ex) when (ex is not VaultUnavailableException)
        {
            throw new VaultUnavailableException("Usage store failed.", ex);
        }
    }

    private Task RefuseLimitAsync(ProxyCall call, ReserveResult result, long worst)
    {
        var limits = call.Grant.Limits;
        switch (result.Refused)
        {
            case LimitKind.RequestsPerMinute:
            case LimitKind.RequestsPerDay:
                var wait = result.RetryAfter ?? TimeSpan.Zero;
                var per = result.Refused == LimitKind.RequestsPerMinute ? $"{limits.RequestsPerMinute} requests per minute" : $"{limits.RequestsPerDay} requests per day (UTC)";
                // A short wait is announced for the SDK to retry after; a long one only in the message, with
                // x-should-retry: false, so no SDK sleeps through it inside the app's call.
                var retryable = wait > TimeSpan.Zero && wait <= _options.MaxRetryAfter;
                return refusals.RefuseAsync(call, 429, OkapErrorTypes.RateLimited,
                    $"Rate limit reached: this OKAP token allows {per}; try again in {Refusals.Duration(wait)}.", retryable ? wait : null);
            case LimitKind.DailySpend:
            case LimitKind.MonthlySpend:
                var daily = result.Refused == LimitKind.DailySpend;
                return refusals.RefuseAsync(call, Refusals.SpendStatus(call.Format), OkapErrorTypes.SpendLimit,
                    Refusals.SpendMessage(daily, daily ? limits.DailySpendMicros : limits.MonthlySpendMicros, result.RemainingMicros, worst));
            default:
                return RefusalWriter.ErrorAsync(call, 503, OkapErrorTypes.VaultUnavailable, "The vault cannot reach its storage right now; try again shortly.");
        }
    }

}
