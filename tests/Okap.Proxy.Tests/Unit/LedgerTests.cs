using Microsoft.Extensions.Time.Testing;
using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Proxy.Tests.Infrastructure;

namespace Okap.Proxy.Tests.Unit;

public sealed class LedgerTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 23, 59, 30, TimeSpan.Zero));
    private readonly StoreHealth _health = new();
    private readonly InMemoryUsageStore _store;
    private readonly BudgetLedger _ledger;

    public LedgerTests()
    {
        _store = new InMemoryUsageStore(_health);
        _ledger = new BudgetLedger(_time);
    }

    private async Task<ReserveResult> Reserve(Limits limits, long worst, string token = "tok_1")
    {
        for (var attempt = 0; ; attempt++)
        {
            await _ledger.EnsureReadyAsync("own", token, "openai", limits, worst, _store, default);
            var r = _ledger.TryReserve("own", token, "openai", limits, worst);
            if (r.Refused != LimitKind.NotLoaded || attempt == 2) return r;
        }
    }

    [Fact]
    public async Task Reserve_then_settle_replaces_the_hold_by_the_real_cost()
    {
        var limits = new Limits { DailySpendMicros = 1000 };
        var r = await Reserve(limits, 600);
        Assert.True(r.Ok);
        Assert.Equal(LimitKind.DailySpend, (await Reserve(limits, 600)).Refused); // 600 held + 600 > 1000
        _ledger.Settle(r.Reservation!, new TokenUsage(10, 0, 10), 100);
        Assert.True((await Reserve(limits, 600)).Ok); // 100 spent + 600 ≤ 1000
        var snap = _ledger.Snapshot(UsageKeys.Grant("tok_1", "openai"), UsageKeys.Day(_time.GetUtcNow()))!.Value;
        Assert.Equal((2L, 100L, 600L), (snap.Requests, snap.CostMicros, snap.ReservedMicros));
    }

    [Fact]
    public async Task Exhausted_cap_refuses_even_free_calls_and_monthly_cap_counts_too()
    {
        await _store.AddAsync([new UsageCounter("own", UsageKeys.Grant("tok_1", "openai"), UsageKeys.Month(_time.GetUtcNow()), 5, 0, 0, 5000)], default);
        Assert.Equal(LimitKind.MonthlySpend, (await Reserve(new Limits { MonthlySpendMicros = 5000 }, 0)).Refused);
        Assert.True((await Reserve(new Limits { MonthlySpendMicros = 5001 }, 1)).Ok);
    }

    [Fact]
    public async Task Requests_per_minute_is_a_sliding_window_with_an_honest_retry_after()
    {
        var limits = new Limits { RequestsPerMinute = 2 };
        Assert.True((await Reserve(limits, 0)).Ok);
        Assert.True((await Reserve(limits, 0)).Ok);
        var refused = await Reserve(limits, 0);
        Assert.Equal(LimitKind.RequestsPerMinute, refused.Refused);
        // Counted in the 5-second bucket that began at 23:59:30; it leaves the 13-bucket window 65 s later.
        Assert.Equal(TimeSpan.FromSeconds(65), refused.RetryAfter);
        _time.Advance(TimeSpan.FromSeconds(31)); // past the minute boundary: no fresh burst
        refused = await Reserve(limits, 0);
        Assert.Equal(LimitKind.RequestsPerMinute, refused.Refused);
        Assert.Equal(TimeSpan.FromSeconds(34), refused.RetryAfter);
        _time.Advance(TimeSpan.FromSeconds(34));
        Assert.True((await Reserve(limits, 0)).Ok);
    }

    [Fact]
    public async Task Requests_per_day_counts_stored_requests_and_resets_at_utc_midnight()
    {
        await _store.AddAsync([new UsageCounter("own", UsageKeys.Grant("tok_1", "openai"), UsageKeys.Day(_time.GetUtcNow()), 3, 0, 0, 0)], default);
        var limits = new Limits { RequestsPerDay = 3 };
        var refused = await Reserve(limits, 0);
        Assert.Equal(LimitKind.RequestsPerDay, refused.Refused);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.RetryAfter);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(LimitKind.NotLoaded, _ledger.TryReserve("own", "tok_1", "openai", limits, 0).Refused); // new day must load first
        Assert.True((await Reserve(limits, 0)).Ok);
    }

    [Fact]
    public async Task Concurrent_reservations_never_exceed_the_cap()
    {
        const long cap = 10_000;
        var limits = new Limits { DailySpendMicros = cap };
        var granted = 0L;
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), async (_, _) =>
        {
            var r = await Reserve(limits, 97, "tok_c");
            if (!r.Ok) return;
            Interlocked.Add(ref granted, 97);
            _ledger.Settle(r.Reservation!, default, 97);
        });
        var snap = _ledger.Snapshot(UsageKeys.Grant("tok_c", "openai"), UsageKeys.Day(_time.GetUtcNow()))!.Value;
        Assert.True(snap.CostMicros <= cap);
        Assert.Equal(granted, snap.CostMicros);
        Assert.Equal(cap / 97 * 97, snap.CostMicros);
    }

    [Fact]
    public async Task Pending_deltas_flush_once_and_are_restored_after_a_failure()
    {
        var r = await Reserve(Limits.None, 0);
        _ledger.Settle(r.Reservation!, new TokenUsage(3, 1, 2), 50);
        var pending = _ledger.TakePending();
        Assert.Equal(2, pending.Deltas.Count); // day and month
        Assert.All(pending.Deltas, d => Assert.Equal((1L, 4L, 2L, 50L), (d.Requests, d.InputTokens, d.OutputTokens, d.CostMicros)));
        Assert.Single(pending.Touched);
        Assert.Empty(_ledger.TakePending().Deltas);
        _ledger.Restore(pending.Deltas);
        Assert.Equal(2, _ledger.TakePending().Deltas.Count);
    }

    [Fact]
    public async Task Settling_twice_is_harmless_and_load_failure_propagates()
    {
        var r = await Reserve(new Limits { DailySpendMicros = 100 }, 100);
        _ledger.Settle(r.Reservation!, default, 10);
        _ledger.Release(r.Reservation!);
        var snap = _ledger.Snapshot(UsageKeys.Grant("tok_1", "openai"), UsageKeys.Day(_time.GetUtcNow()))!.Value;
        Assert.Equal((10L, 0L), (snap.CostMicros, snap.ReservedMicros));

        _health.Down = true;
        await Assert.ThrowsAsync<Okap.Core.VaultUnavailableException>(() => _ledger.EnsureLoadedAsync("own", "tok_2", "openai", _store, default).AsTask());
        _health.Down = false;
        await _ledger.EnsureLoadedAsync("own", "tok_2", "openai", _store, default); // retried after failure
    }

    [Fact]
    public async Task Budget_service_reports_used_and_remaining()
    {
        var tokens = new InMemoryTokenStore(_health);
        await tokens.CreateAsync(new TokenRecord
        {
            Id = "tok_b", Hash = "h", OwnerId = "own", AppName = "a", DisplayPrefix = "okap_", CreatedAt = _time.GetUtcNow(),
            Grants = [new Grant("openai", [], [], new Limits { DailySpendMicros = 1000, MonthlySpendMicros = 5000, RequestsPerDay = 10, RequestsPerMinute = 5, TokensPerRequest = 99 }, null)],
        }, default);
        await _store.AddAsync([new UsageCounter("own", UsageKeys.Grant("tok_b", "openai"), UsageKeys.Month(_time.GetUtcNow()), 2, 0, 0, 300)], default);
        var service = new BudgetService(tokens, _store, _ledger, _time);
        var budget = (await service.GetTokenBudgetAsync("own", "tok_b"))!;
        var g = budget.Grants.Single();
        Assert.Equal((0L, 1000L), (g.Day.CostMicros, g.Day.RemainingMicros!.Value));
        Assert.Equal((300L, 4700L), (g.Month.CostMicros, g.Month.RemainingMicros!.Value));
        Assert.Equal(10, g.RequestsPerDay!.Remaining);
        Assert.Equal(99, g.TokensPerRequest);

        var r = await Reserve(new Limits { DailySpendMicros = 1000, RequestsPerMinute = 5 }, 200, "tok_b");
        g = (await service.GetTokenBudgetAsync("own", "tok_b"))!.Grants.Single();
        Assert.Equal((200L, 800L), (g.Day.ReservedMicros, g.Day.RemainingMicros!.Value));
        // Per minute over the sliding window in the store: the slots this instance leased but has not used are not "used".
        Assert.Equal((1L, 4L), (g.RequestsPerMinute!.Used, g.RequestsPerMinute.Remaining));
        // The window slides: a minute and a bucket later the call has left it.
        _time.Advance(TimeSpan.FromSeconds(65));
        g = (await service.GetTokenBudgetAsync("own", "tok_b"))!.Grants.Single();
        Assert.Equal((0L, 5L), (g.RequestsPerMinute!.Used, g.RequestsPerMinute.Remaining));
        Assert.Null(await service.GetTokenBudgetAsync("other", "tok_b"));
        _ledger.Release(r.Reservation!);
    }
}
