using System.Collections.Concurrent;
using Okap.Core.Tokens;

namespace Okap.Core.Metering;

/// <summary>Why a call was refused by <see cref="BudgetLedger.TryReserve"/>.</summary>
public enum LimitKind
{
    None,
    RequestsPerMinute,
    RequestsPerDay,
    DailySpend,
    MonthlySpend,
    /// <summary>The grant's totals are not in memory (first use, new day, or evicted): load them and try again.</summary>
    NotLoaded,
}

/// <summary>Outcome of <see cref="BudgetLedger.TryReserve"/>: a reservation, or the limit that refused it.</summary>
/// <param name="RemainingMicros">After a spend refusal: what is left of the refused cap for this call (0: the cap is reached).</param>
public readonly record struct ReserveResult(Reservation? Reservation, LimitKind Refused, TimeSpan? RetryAfter, long RemainingMicros = 0)
{
    public bool Ok => Reservation is not null;
}

/// <summary>Spend held for one call until it settles. Settle or release it exactly once.</summary>
public sealed class Reservation
{
    internal Reservation(GrantAccount account, PeriodCounter day, PeriodCounter month, long micros, bool leased)
    {
        Leased = leased;
        Account = account;
        Day = day;
        Month = month;
        Micros = micros;
    }

    internal GrantAccount Account { get; }
    internal PeriodCounter Day { get; }
    internal PeriodCounter Month { get; }
    /// <summary>Taken out of the grant's budget lease: settling reports its cost there.</summary>
    internal bool Leased { get; }
    /// <summary>The worst-case cost held, in micro-dollars.</summary>
    public long Micros { get; }
    internal int Settled;
}

/// <summary>Counters of one grant over one period. Guarded by the owning <see cref="GrantAccount"/>'s lock.</summary>
internal sealed class PeriodCounter(string period)
{
    public string Period { get; } = period;
    public bool Loaded;
    // Totals: store base at load time + everything added here since.
    public long Requests, InputTokens, OutputTokens, CostMicros;
    // Not yet flushed to the store.
    public long PendingRequests, PendingInput, PendingOutput, PendingCost;
    public long ReservedMicros;
    public int Open;

    public bool HasPending => PendingRequests != 0 || PendingInput != 0 || PendingOutput != 0 || PendingCost != 0;
}

/// <summary>In-memory account of one grant (token + provider): current day and month counters and the minute window.</summary>
internal sealed class GrantAccount(string ownerId, string tokenId, string grantKey)
{
    public readonly Lock Gate = new();
    public string OwnerId { get; } = ownerId;
    public string TokenId { get; } = tokenId;
    public string GrantKey { get; } = grantKey;
    public readonly Dictionary<string, PeriodCounter> Periods = new(StringComparer.Ordinal);
    public DateTimeOffset? LastUsed;
    public bool TouchPending;
    /// <summary>Set, under <see cref="Gate"/>, when the flush forgets this account: a caller still holding it must fetch a fresh one.</summary>
    public bool Evicted;
    public Task? LoadTask;
    public DateTimeOffset LoadedAt;
    /// <summary>This instance's share of the grant's limits, leased from the store; null until the grant needs one.</summary>
    public GrantLease? Lease;

    public PeriodCounter Counter(string period)
    {
        if (!Periods.TryGetValue(period, out var c))
        {
            c = new PeriodCounter(period);
            Periods[period] = c;
        }
        return c;
    }
}

/// <summary>
/// Rate and spend counters of every grant in use, in memory. Spend is reserved at its worst case before a call and
/// settled from real usage after it, under a per-grant lock, so concurrent calls overshoot a cap by at most one
/// reservation's error. Base totals are loaded once per grant and period from <see cref="IUsageStore"/>; additions are
/// flushed in batches by <see cref="TakePending"/>. A grant with spend or rate limits is also served only from budget
/// this instance leased from the shared store (see <c>docs/azure-storage.md</c>, "Budget leases"), so the limits hold
/// across every instance. Thread-safe.
/// </summary>
public sealed partial class BudgetLedger
{
    private readonly ConcurrentDictionary<string, GrantAccount> _accounts = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly BudgetLeaseOptions _leaseOptions;

    public BudgetLedger(TimeProvider time, BudgetLeaseOptions? leaseOptions = null)
    {
        _time = time;
        _leaseOptions = leaseOptions ?? new BudgetLeaseOptions();
    }

    private sealed record PeriodKeys(long Minute, string Day, string Month);
    private volatile PeriodKeys _keys = new(long.MinValue, "", "");

    /// <summary>Day and month keys of <paramref name="now"/>, formatted once a minute rather than per call.</summary>
    private (string Day, string Month) Keys(DateTimeOffset now)
    {
        var minute = now.ToUnixTimeSeconds() / 60;
        var keys = _keys;
        if (keys.Minute != minute)
        {
            keys = new PeriodKeys(minute, UsageKeys.Day(now), UsageKeys.Month(now));
            _keys = keys;
        }
        return (keys.Day, keys.Month);
    }

    internal GrantAccount Account(string ownerId, string tokenId, string provider)
    {
        var key = UsageKeys.Grant(tokenId, provider);
        if (_accounts.TryGetValue(key, out var a)) return a;
        return _accounts.GetOrAdd(key, k => new GrantAccount(ownerId, tokenId, k));
    }

    /// <summary>
    /// Makes sure the grant's counters for the current day and month hold the store's totals. Completes synchronously
    /// when they already do; throws (and may be retried) when the store cannot be read.
    /// </summary>
    public ValueTask EnsureLoadedAsync(string ownerId, string tokenId, string provider, IUsageStore store, CancellationToken ct)
    {
        var account = Account(ownerId, tokenId, provider);
        var (day, month) = Keys(_time.GetUtcNow());
        Task load;
        lock (account.Gate)
        {
            if (account.Periods.TryGetValue(day, out var d) && d.Loaded && account.Periods.TryGetValue(month, out var m) && m.Loaded)
                return ValueTask.CompletedTask;
            load = account.LoadTask is { IsCompleted: false } running
                ? running
                : account.LoadTask = Task.Run(() => LoadAsync(account, store, day, month), CancellationToken.None);
        }
        return new ValueTask(load.WaitAsync(ct));
    }

    private async Task LoadAsync(GrantAccount account, IUsageStore store, string day, string month)
    {
        {
            var counters = await store.GetAsync(account.OwnerId, account.GrantKey, [day, month], CancellationToken.None).ConfigureAwait(false);
            lock (account.Gate)
            {
                foreach (var period in (ReadOnlySpan<string>)[day, month])
                {
                    var c = account.Counter(period);
                    if (c.Loaded) continue;
                    foreach (var stored in counters)
                    {
                        if (stored.Period != period) continue;
                        c.Requests += stored.Requests;
                        c.InputTokens += stored.InputTokens;
                        c.OutputTokens += stored.OutputTokens;
                        c.CostMicros += stored.CostMicros;
                    }
                    c.Loaded = true;
                }
                account.LoadedAt = _time.GetUtcNow();
            }
        }
    }

    /// <summary>
    /// Counts the call against the grant's rate limits and holds <paramref name="worstCaseMicros"/> against its spend caps,
    /// atomically. Call <see cref="EnsureReadyAsync"/> first; <see cref="LimitKind.NotLoaded"/> asks for it again.
    /// </summary>
    public ReserveResult TryReserve(string ownerId, string tokenId, string provider, Limits limits, long worstCaseMicros)
    {
        var account = Account(ownerId, tokenId, provider);
        var now = _time.GetUtcNow();
        var (dayKey, monthKey) = Keys(now);
        lock (account.Gate)
        {
            // Evicted between the lookup and the lock: report "not loaded" so the caller reloads a live account.
            if (account.Evicted) return new(null, LimitKind.NotLoaded, null);
            var day = account.Counter(dayKey);
            var month = account.Counter(monthKey);
            if (!day.Loaded || !month.Loaded) return new(null, LimitKind.NotLoaded, null);
            // These checks use this instance's view (a lower bound of the truth): a refusal here is always right. The
            // per-minute window, and everything other instances spent, is enforced by the lease below.
            if (limits.RequestsPerDay is { } rpd && day.Requests >= rpd)
                return new(null, LimitKind.RequestsPerDay, now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime);
            if (limits.DailySpendMicros is { } daily && (day.CostMicros >= daily || day.CostMicros + day.ReservedMicros + worstCaseMicros > daily))
                return new(null, LimitKind.DailySpend, null, Math.Max(0, daily - day.CostMicros - day.ReservedMicros));
            if (limits.MonthlySpendMicros is { } monthly && (month.CostMicros >= monthly || month.CostMicros + month.ReservedMicros + worstCaseMicros > monthly))
                return new(null, LimitKind.MonthlySpend, null, Math.Max(0, monthly - month.CostMicros - month.ReservedMicros));
            var leased = NeedsLease(limits);
            if (leased && TakeLease(account, limits, worstCaseMicros, now) is { } refused) return refused;
            foreach (var c in (ReadOnlySpan<PeriodCounter>)[day, month])
            {
                c.Requests++;
                c.PendingRequests++;
                c.ReservedMicros += worstCaseMicros;
                c.Open++;
            }
            account.LastUsed = now;
            account.TouchPending = true;
            return new(new Reservation(account, day, month, worstCaseMicros, leased), LimitKind.None, null);
        }
    }

    /// <summary>Replaces the reservation by the call's real usage and cost; the rest of the hold is released.</summary>
    public void Settle(Reservation reservation, TokenUsage usage, long costMicros)
    {
        if (Interlocked.Exchange(ref reservation.Settled, 1) != 0) return;
        var account = reservation.Account;
        var input = usage.InputTokens + usage.CachedInputTokens;
        lock (account.Gate)
        {
            if (reservation.Leased) SettleLease(account, reservation.Micros, costMicros);
            foreach (var c in (ReadOnlySpan<PeriodCounter>)[reservation.Day, reservation.Month])
            {
                c.ReservedMicros -= reservation.Micros;
                c.Open--;
                c.InputTokens += input;
                c.OutputTokens += usage.OutputTokens;
                c.CostMicros += costMicros;
                c.PendingInput += input;
                c.PendingOutput += usage.OutputTokens;
                c.PendingCost += costMicros;
            }
        }
    }

    /// <summary>Releases a reservation without cost (the call failed upstream or never left).</summary>
    public void Release(Reservation reservation) => Settle(reservation, default, 0);

    /// <summary>Everything not yet flushed, as store deltas, and the tokens used since the last flush. Clears both.</summary>
    public PendingUsage TakePending()
    {
        var deltas = new List<UsageCounter>();
        var touched = new List<TokenTouch>();
        var now = _time.GetUtcNow();
        var today = UsageKeys.Day(now);
        var thisMonth = UsageKeys.Month(now);
        foreach (var (key, account) in _accounts)
        {
            lock (account.Gate)
            {
                List<string>? stale = null;
                foreach (var (period, c) in account.Periods)
                {
                    if (c.HasPending)
                    {
                        deltas.Add(new UsageCounter(account.OwnerId, account.GrantKey, period, c.PendingRequests, c.PendingInput, c.PendingOutput, c.PendingCost));
                        c.PendingRequests = c.PendingInput = c.PendingOutput = c.PendingCost = 0;
                    }
                    if (c.Open == 0 && period != today && period != thisMonth) (stale ??= []).Add(period);
                }
                if (stale is not null) foreach (var p in stale) account.Periods.Remove(p);
                if (account.TouchPending && account.LastUsed is { } at)
                {
                    touched.Add(new TokenTouch(account.OwnerId, account.TokenId, at));
                    account.TouchPending = false;
                }
                // Forget idle grants (nothing pending or open, unused for an hour); they reload from the store on next use.
                if (account.Lease is { HoldsAnything: true }) continue;
                if (account.Periods.Count == 0 || (account.LastUsed is { } last && now - last > TimeSpan.FromHours(1) && account.Periods.Values.All(p => p.Open == 0 && !p.HasPending)))
                {
                    if (_accounts.TryRemove(new KeyValuePair<string, GrantAccount>(key, account))) account.Evicted = true;
                }
            }
        }
        return new PendingUsage(deltas, touched);
    }

    /// <summary>Puts deltas back after a failed flush, so the next flush retries them.</summary>
    public void Restore(IReadOnlyList<UsageCounter> deltas)
    {
        foreach (var d in deltas)
        {
            if (!_accounts.TryGetValue(d.GrantKey, out var account))
            {
                var tokenId = d.GrantKey[..Math.Max(0, d.GrantKey.LastIndexOf(':'))];
                account = _accounts.GetOrAdd(d.GrantKey, k => new GrantAccount(d.OwnerId, tokenId, k));
            }
            lock (account.Gate)
            {
                var c = account.Counter(d.Period);
                c.PendingRequests += d.Requests;
                c.PendingInput += d.InputTokens;
                c.PendingOutput += d.OutputTokens;
                c.PendingCost += d.CostMicros;
                if (!c.Loaded)
                {
                    // Totals of an unloaded counter come from the store at load time; keep them out of the totals here.
                }
            }
        }
    }

    /// <summary>Refreshes a grant's totals from the store (what other instances added), keeping unflushed local additions.</summary>
    public async Task RefreshAsync(string grantKey, IUsageStore store, CancellationToken ct)
    {
        if (!_accounts.TryGetValue(grantKey, out var account)) return;
        string[] periods;
        lock (account.Gate) periods = account.Periods.Where(p => p.Value.Loaded).Select(p => p.Key).ToArray();
        if (periods.Length == 0) return;
        var counters = await store.GetAsync(account.OwnerId, grantKey, periods, ct).ConfigureAwait(false);
        lock (account.Gate)
        {
            foreach (var period in periods)
            {
                if (!account.Periods.TryGetValue(period, out var c)) continue;
                long r = 0, i = 0, o = 0, cost = 0;
                foreach (var s in counters)
                {
                    if (s.Period != period) continue;
                    r += s.Requests; i += s.InputTokens; o += s.OutputTokens; cost += s.CostMicros;
                }
                // Store totals include everything flushed; add what is still pending here. Never go backwards.
                c.Requests = Math.Max(c.Requests, r + c.PendingRequests);
                c.InputTokens = Math.Max(c.InputTokens, i + c.PendingInput);
                c.OutputTokens = Math.Max(c.OutputTokens, o + c.PendingOutput);
                c.CostMicros = Math.Max(c.CostMicros, cost + c.PendingCost);
            }
            account.LoadedAt = _time.GetUtcNow();
        }
    }

    /// <summary>Grant keys in memory whose totals were loaded longer ago than <paramref name="age"/>.</summary>
    public IReadOnlyList<string> GrantsOlderThan(TimeSpan age)
    {
        var now = _time.GetUtcNow();
        var list = new List<string>();
        foreach (var (key, account) in _accounts)
        {
            lock (account.Gate)
            {
                if (account.Periods.Count > 0 && now - account.LoadedAt > age) list.Add(key);
            }
        }
        return list;
    }

    /// <summary>What this instance knows of a grant's period, or null when it holds no loaded counter for it.</summary>
    public PeriodSnapshot? Snapshot(string grantKey, string period)
    {
        if (!_accounts.TryGetValue(grantKey, out var account)) return null;
        lock (account.Gate)
        {
            if (!account.Periods.TryGetValue(period, out var c) || !c.Loaded) return null;
            return new PeriodSnapshot(c.Requests, c.InputTokens, c.OutputTokens, c.CostMicros, c.ReservedMicros);
        }
    }

    /// <summary>
    /// Requests per minute of a grant over the sliding window the limit is enforced on (the last 60 s, in the store's
    /// 5-second buckets): used = slots every instance took in the window less those this instance still holds unused
    /// (other instances' unused slots cannot be seen and count as used); remaining = the limit less that. Reads the
    /// grant's lease document.
    /// </summary>
    public async Task<RateBudget> RequestsPerMinuteAsync(string ownerId, string grantKey, int limit, IUsageStore store, CancellationToken ct)
    {
        var doc = await store.ReadLeaseAsync(ownerId, grantKey, ct).ConfigureAwait(false);
        var state = LeaseBook.Parse(doc?.Json);
        var current = LeaseBook.Bucket(_time.GetUtcNow().ToUnixTimeMilliseconds());
        var counted = LeaseBook.CountedInWindow(state, current);
        var unused = 0;
        if (_accounts.TryGetValue(grantKey, out var account))
        {
            lock (account.Gate)
            {
                if (account.Lease is { } lease)
                    foreach (var (bucket, hold) in lease.Rpm)
                        if (bucket > current - LeaseBook.WindowBuckets) unused += Math.Max(0, hold.Slots - hold.Used);
            }
        }
        var used = Math.Max(0, counted - unused);
        return new RateBudget(limit, used, Math.Max(0, limit - used));
    }
}

/// <summary>Totals of one grant and period as this instance sees them.</summary>
public readonly record struct PeriodSnapshot(long Requests, long InputTokens, long OutputTokens, long CostMicros, long ReservedMicros);

/// <summary>A token's latest use, for <see cref="ITokenStore.TouchAsync"/>.</summary>
public readonly record struct TokenTouch(string OwnerId, string TokenId, DateTimeOffset At);

/// <summary>What a flush writes.</summary>
public sealed record PendingUsage(IReadOnlyList<UsageCounter> Deltas, IReadOnlyList<TokenTouch> Touched);
