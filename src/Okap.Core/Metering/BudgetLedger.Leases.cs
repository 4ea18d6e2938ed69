using Okap.Core.Tokens;

namespace Okap.Core.Metering;

/// <summary>Budget leases: how long one lasts without renewal.</summary>
public sealed class BudgetLeaseOptions
{
    /// <summary>
    /// How long a lease lasts without renewal. An instance renews what it holds every third of this; a lease not renewed
    /// in time (its instance died or lost the store) is counted as spent. Default 1 minute.
    /// </summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Per-minute slots held for one 5-second bucket.</summary>
internal sealed class RpmHold
{
    public int Slots;
    public int Used;
}

/// <summary>This instance's side of a grant's lease. Guarded by the owning <see cref="GrantAccount"/>'s lock.</summary>
internal sealed class GrantLease
{
    // Spend: held by this instance in the store (after the reports already sent), settled but not yet reported, reserved by running calls.
    public long HeldMicros, UnreportedMicros, OpenMicros;
    public long HeldRequests, UnreportedRequests;
    public readonly Dictionary<long, RpmHold> Rpm = [];
    public bool ShortSpend, ShortDay, ShortMinute;
    public long NeedMicros;
    public long WorstEstimate;
    public LimitKind Refused;
    public long RefusedUntilMs;
    // The worst case the last renewal asked room for, and, after a spend refusal, the worst case that was refused.
    public long AskedWorst, RefusedWorst;
    // After a spend refusal: what this call could still have used of the refused cap (the store's part and this instance's).
    public long RefusedLeftMicros;
    public long Seq;
    public LeaseRequest? InFlight;
    public Task? Renewal;
    public long Admitted;
    public long LastRenewalMs;
    public long LastGrantMicros, LastGrantRequests;
    public int LastGrantRpm;
    public LeaseDocument? Cached;
    public Limits Limits = Limits.None;
    public IUsageStore? Store;

    public bool HoldsAnything => HeldMicros != 0 || UnreportedMicros != 0 || OpenMicros != 0 || HeldRequests != 0 || UnreportedRequests != 0
                                 || Rpm.Count != 0 || InFlight is not null;
}

public sealed partial class BudgetLedger
{
    /// <summary>Calls one slice is sized for, at least, and the seconds of recent traffic it should cover.</summary>
    private const int MinSliceCalls = 8;
    private const double SliceSeconds = 10;
    private const long PrefetchMs = 1_000;

    /// <summary>True when the grant has a limit that only the shared store can enforce across instances.</summary>
    internal static bool NeedsLease(Limits limits) => limits.HasSpendCap || limits.RequestsPerMinute is not null || limits.RequestsPerDay is not null;

    /// <summary>This process's holder id in lease documents (one per process start).</summary>
    public string HolderId { get; } = Secrets.NewId("inst");

    /// <summary>
    /// Makes sure the grant's totals are loaded and, when it has spend or rate limits, that this instance holds enough of
    /// its lease for a call reserving <paramref name="worstCaseMicros"/> (or has learnt from the store that it is refused).
    /// Completes synchronously when nothing is missing; throws when the store cannot be reached.
    /// </summary>
    public async ValueTask EnsureReadyAsync(string ownerId, string tokenId, string provider, Limits limits, long worstCaseMicros, IUsageStore store, CancellationToken ct)
    {
        var load = EnsureLoadedAsync(ownerId, tokenId, provider, store, ct);
        if (!load.IsCompletedSuccessfully) await load.ConfigureAwait(false);
        if (!NeedsLease(limits)) return;
        var account = Account(ownerId, tokenId, provider);
        Task renewal;
        lock (account.Gate)
        {
            var lease = account.Lease ??= new GrantLease();
            lease.Limits = limits;
            lease.Store = store;
            var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (Shortfall(lease, limits, worstCaseMicros, nowMs, out _) == LimitKind.None) return;
            if (RefusalStands(lease, lease.Refused, worstCaseMicros, nowMs)) return; // TryReserve answers the refusal
            lease.NeedMicros = Math.Max(lease.NeedMicros, worstCaseMicros);
            renewal = StartRenewal(account, lease, final: false);
        }
        await renewal.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>What the lease lacks for one more call (None when it has enough); sets the lease's "short" flags.</summary>
    private static LimitKind Shortfall(GrantLease lease, Limits limits, long worst, long nowMs, out RpmHold? hold)
    {
        hold = null;
        if (limits.RequestsPerMinute is not null && !(lease.Rpm.TryGetValue(LeaseBook.Bucket(nowMs), out hold) && hold.Used < hold.Slots))
        {
            lease.ShortMinute = true;
            return LimitKind.RequestsPerMinute;
        }
        if (limits.RequestsPerDay is not null && lease.HeldRequests - lease.UnreportedRequests < 1)
        {
            lease.ShortDay = true;
            return LimitKind.RequestsPerDay;
        }
        if (limits.HasSpendCap && lease.HeldMicros - lease.UnreportedMicros - lease.OpenMicros < worst)
        {
            lease.ShortSpend = true;
            return limits.DailySpendMicros is not null ? LimitKind.DailySpend : LimitKind.MonthlySpend;
        }
        return LimitKind.None;
    }

    /// <summary>
    /// Under the account's lock: takes one call out of the lease, or says why not — the store's recent refusal of the
    /// same limit (with the time until it can change), or <see cref="LimitKind.NotLoaded"/> (renew, then try again).
    /// </summary>
    private ReserveResult? TakeLease(GrantAccount account, Limits limits, long worst, DateTimeOffset now)
    {
        var lease = account.Lease ??= new GrantLease();
        lease.Limits = limits;
        var nowMs = now.ToUnixTimeMilliseconds();
        var shortOf = Shortfall(lease, limits, worst, nowMs, out var hold);
        if (shortOf != LimitKind.None)
        {
            var same = lease.Refused == shortOf || (shortOf is LimitKind.DailySpend or LimitKind.MonthlySpend && lease.Refused is LimitKind.DailySpend or LimitKind.MonthlySpend);
            if (same && RefusalStands(lease, lease.Refused, worst, nowMs))
            {
                TimeSpan? retry = lease.Refused is LimitKind.RequestsPerMinute or LimitKind.RequestsPerDay ? TimeSpan.FromMilliseconds(lease.RefusedUntilMs - nowMs) : null;
                var left = lease.Refused is LimitKind.DailySpend or LimitKind.MonthlySpend
                    ? Math.Max(0, lease.RefusedLeftMicros + lease.HeldMicros - lease.UnreportedMicros - lease.OpenMicros) : 0;
                return new(null, lease.Refused, retry, left);
            }
            // Only a call that will renew asks for room: a refused call must not make the next, smaller one ask too much.
            lease.NeedMicros = Math.Max(lease.NeedMicros, worst);
            return new(null, LimitKind.NotLoaded, null);
        }
        if (limits.HasSpendCap) lease.OpenMicros += worst;
        if (limits.RequestsPerDay is not null) lease.UnreportedRequests++;
        if (hold is not null) hold.Used++;
        lease.Admitted++;
        lease.WorstEstimate = lease.WorstEstimate == 0 ? worst : (lease.WorstEstimate * 7 + worst) / 8;

        // Refill before the lease runs dry, off the request's path.
        if (lease.Store is not null && lease.Renewal is not { IsCompleted: false } && LowWater(lease, limits, nowMs))
        {
            StartRenewal(account, lease, final: false);
        }
        return null;
    }

    /// <summary>
    /// True while the store's last refusal of <paramref name="kind"/> still answers a call reserving <paramref name="worst"/>:
    /// within its wait, and, for spend, only for calls at least as costly as the one refused.
    /// </summary>
    private static bool RefusalStands(GrantLease lease, LimitKind kind, long worst, long nowMs) =>
        kind != LimitKind.None && nowMs < lease.RefusedUntilMs
        && (kind is not (LimitKind.DailySpend or LimitKind.MonthlySpend) || worst >= lease.RefusedWorst);

    private static bool LowWater(GrantLease lease, Limits limits, long nowMs)
    {
        if (limits.HasSpendCap && lease.HeldMicros - lease.UnreportedMicros - lease.OpenMicros < Math.Max(lease.WorstEstimate, lease.LastGrantMicros / 4)) return true;
        if (limits.RequestsPerDay is not null && lease.HeldRequests - lease.UnreportedRequests < Math.Max(1, lease.LastGrantRequests / 4)) return true;
        if (limits.RequestsPerMinute is not null)
        {
            var bucket = LeaseBook.Bucket(nowMs);
            var left = lease.Rpm.TryGetValue(bucket, out var h) ? h.Slots - h.Used : 0;
            if (left < Math.Max(1, lease.LastGrantRpm / 4)) return true;
            // Near the end of a bucket: get the next one's slots before the first call of it needs them.
            if (nowMs % LeaseBook.BucketMs >= LeaseBook.BucketMs - PrefetchMs && !lease.Rpm.ContainsKey(bucket + 1)) return true;
        }
        return false;
    }

    /// <summary>A call settled or was released: its hold leaves the lease, its cost is to be reported.</summary>
    private static void SettleLease(GrantAccount account, long reservedMicros, long costMicros)
    {
        if (account.Lease is not { } lease || !lease.Limits.HasSpendCap) return;
        lease.OpenMicros -= reservedMicros;
        lease.UnreportedMicros += costMicros;
        // Part of the hold came back: a spend refusal learnt while it was held may no longer stand, ask again.
        if (costMicros < reservedMicros && lease.Refused is LimitKind.DailySpend or LimitKind.MonthlySpend) lease.RefusedUntilMs = 0;
    }

    private Task StartRenewal(GrantAccount account, GrantLease lease, bool final)
    {
        if (lease.Renewal is { IsCompleted: false } running) return running;
        var store = lease.Store!;
        var renewal = Task.Run(() => RenewCountedAsync(account, lease, store, final));
        // A refill started from the request path is not awaited by anyone: observe its failure (it is retried later).
        renewal.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return lease.Renewal = renewal;
    }

    /// <summary>
    /// Sends this instance's report and request for one grant, with a conditional write; retried on conflict. A request
    /// that failed (store unreachable, reply lost) is kept and sent again, unchanged, before any new one.
    /// </summary>
    private async Task RenewCountedAsync(GrantAccount account, GrantLease lease, IUsageStore store, bool final)
    {
        try
        {
            await RenewAsync(account, lease, store, final).ConfigureAwait(false);
        }
        catch
        {
            Diagnostics.OkapCoreMetrics.LeaseRenewed(ok: false, final);
            throw;
        }
        Diagnostics.OkapCoreMetrics.LeaseRenewed(ok: true, final);
    }

    private async Task RenewAsync(GrantAccount account, GrantLease lease, IUsageStore store, bool final)
    {
        LeaseRequest request;
        Limits limits;
        lock (account.Gate)
        {
            limits = lease.Limits;
            request = lease.InFlight ??= BuildRequest(lease, limits, _time.GetUtcNow().ToUnixTimeMilliseconds(), final);
        }
        for (var attempt = 0; ; attempt++)
        {
            LeaseDocument? doc;
            try
            {
                doc = lease.Cached ?? await store.ReadLeaseAsync(account.OwnerId, account.GrantKey, CancellationToken.None).ConfigureAwait(false);
            }
            catch
            {
                lease.Cached = null;
                throw;
            }
            var state = LeaseBook.Parse(doc?.Json);
            var outcome = LeaseBook.Apply(state, request, limits, _time.GetUtcNow(), _leaseOptions.Duration);
            if (outcome.Write)
            {
                var json = LeaseBook.Serialize(state);
                string? version;
                try
                {
                    version = await store.TryWriteLeaseAsync(account.OwnerId, account.GrantKey, json, doc?.Version, CancellationToken.None).ConfigureAwait(false);
                }
                catch
                {
                    lease.Cached = null;
                    throw;
                }
                if (version is null)
                {
                    lease.Cached = null;
                    if (attempt >= 20) throw new VaultUnavailableException("The budget lease stayed contended.");
                    await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 << Math.Min(attempt, 5))), _time).ConfigureAwait(false);
                    continue;
                }
                lease.Cached = new LeaseDocument(json, version);
            }
            else
            {
                lease.Cached = doc;
            }
            lock (account.Gate) Absorb(lease, request, outcome);
            return;
        }
    }

    private LeaseRequest BuildRequest(GrantLease lease, Limits limits, long nowMs, bool final)
    {
        var bucket = LeaseBook.Bucket(nowMs);
        var elapsed = Math.Max(200, nowMs - lease.LastRenewalMs);
        var rate = lease.Admitted * 1000.0 / elapsed;
        var calls = (long)Math.Clamp(Math.Ceiling(rate * SliceSeconds), MinSliceCalls, 100_000);
        // Idle: nothing admitted for a third of the lease and no call waiting for more (a grant's first call is not idle).
        var waiting = lease.ShortSpend || lease.ShortDay || lease.ShortMinute;
        var idle = final || (lease.Admitted == 0 && !waiting && elapsed >= _leaseOptions.Duration.TotalMilliseconds / 3);

        var reportMicros = lease.UnreportedMicros;
        lease.HeldMicros -= reportMicros;
        lease.UnreportedMicros = 0;
        var reportRequests = lease.UnreportedRequests;
        lease.HeldRequests -= reportRequests;
        lease.UnreportedRequests = 0;

        var returns = new Dictionary<long, int>();
        foreach (var (b, hold) in lease.Rpm)
        {
            if (b < bucket || final)
            {
                if (hold.Slots > hold.Used) returns[b] = hold.Slots - hold.Used;
            }
        }
        foreach (var b in returns.Keys) lease.Rpm.Remove(b);
        foreach (var b in lease.Rpm.Keys.Where(b => b < bucket).ToList()) lease.Rpm.Remove(b);

        // Given back before the write: from now on this instance may not spend it, whatever the write's outcome.
        long releaseMicros = 0, releaseRequests = 0;
        var freeMicros = lease.HeldMicros - lease.OpenMicros;
        var freeRequests = lease.HeldRequests;
        if (idle)
        {
            releaseMicros = Math.Max(0, freeMicros);
            releaseRequests = Math.Max(0, freeRequests);
            lease.HeldMicros -= releaseMicros;
            lease.HeldRequests -= releaseRequests;
            freeMicros -= releaseMicros;
            freeRequests -= releaseRequests;
        }

        long needMicros = 0, wantMicros = 0, needRequests = 0, wantRequests = 0;
        int needRpm = 0, wantRpm = 0;
        var rpmBucket = bucket;
        if (!idle)
        {
            if (limits.HasSpendCap)
            {
                needMicros = lease.ShortSpend ? Math.Max(0, lease.NeedMicros - freeMicros) : 0;
                wantMicros = Math.Max(needMicros, calls * Math.Max(lease.WorstEstimate, lease.NeedMicros) - freeMicros);
            }
            if (limits.RequestsPerDay is not null)
            {
                needRequests = lease.ShortDay && freeRequests < 1 ? 1 : 0;
                wantRequests = Math.Max(needRequests, calls - freeRequests);
            }
            if (limits.RequestsPerMinute is { } rpm)
            {
                if (!lease.ShortMinute && nowMs % LeaseBook.BucketMs >= LeaseBook.BucketMs - PrefetchMs) rpmBucket = bucket + 1;
                var have = lease.Rpm.TryGetValue(rpmBucket, out var h) ? h.Slots - h.Used : 0;
                needRpm = lease.ShortMinute && rpmBucket == bucket && have < 1 ? 1 : 0;
                wantRpm = (int)Math.Max(needRpm, Math.Min(rpm, (calls + 1) / 2) - have);
            }
        }
        lease.ShortSpend = lease.ShortDay = lease.ShortMinute = false;
        lease.AskedWorst = lease.NeedMicros;
        lease.NeedMicros = 0;
        lease.Admitted = 0;
        lease.LastRenewalMs = nowMs;
        return new LeaseRequest
        {
            Holder = HolderId,
            Seq = ++lease.Seq,
            ReportMicros = reportMicros,
            ReportRequests = reportRequests,
            ReleaseMicros = releaseMicros,
            ReleaseRequests = releaseRequests,
            RpmReturn = returns,
            NeedMicros = needMicros,
            WantMicros = wantMicros,
            NeedRequests = needRequests,
            WantRequests = wantRequests,
            RpmBucket = rpmBucket,
            NeedRpm = needRpm,
            WantRpm = wantRpm,
            Final = final,
        };
    }

    private void Absorb(GrantLease lease, LeaseRequest request, LeaseOutcome outcome)
    {
        lease.InFlight = null;
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (outcome.Reclaimed)
        {
            // The store counted everything this instance held as spent when its lease expired: start again from nothing.
            lease.HeldMicros = 0;
            lease.HeldRequests = 0;
            lease.Rpm.Clear();
        }
        lease.HeldMicros += outcome.GrantedMicros;
        lease.HeldRequests += outcome.GrantedRequests;
        if (outcome.GrantedRpm > 0)
        {
            if (!lease.Rpm.TryGetValue(outcome.RpmBucket, out var hold)) lease.Rpm[outcome.RpmBucket] = hold = new RpmHold();
            hold.Slots += outcome.GrantedRpm;
        }
        lease.LastGrantMicros = Math.Max(outcome.GrantedMicros, request.NeedMicros);
        lease.LastGrantRequests = outcome.GrantedRequests;
        lease.LastGrantRpm = outcome.GrantedRpm;
        lease.Refused = outcome.Refused;
        // A refusal is re-asked after its honest wait (rate limits) or a second (spend: other instances give back what they hold).
        lease.RefusedUntilMs = outcome.Refused == LimitKind.None ? 0 : nowMs + (long)(outcome.RetryAfter ?? TimeSpan.FromSeconds(1)).TotalMilliseconds;
        lease.RefusedWorst = lease.AskedWorst;
        lease.RefusedLeftMicros = outcome.LeftMicros;
    }

    /// <summary>
    /// Renews leases that are due (held for a third of their duration), reports settled spend and gives back what idle
    /// grants hold; with <paramref name="final"/> (shutdown) gives back everything not reserved by a running call.
    /// Returns how many grants could not be renewed.
    /// </summary>
    public async Task<int> MaintainLeasesAsync(bool final, CancellationToken ct)
    {
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = (long)(_leaseOptions.Duration.TotalMilliseconds / 3);
        var failed = 0;
        foreach (var (_, account) in _accounts)
        {
            ct.ThrowIfCancellationRequested();
            Task? running;
            lock (account.Gate)
            {
                if (account.Lease is not { Store: not null } lease || !lease.HoldsAnything) continue;
                if (!final && nowMs - lease.LastRenewalMs < due && lease.InFlight is null) continue;
                running = lease.Renewal is { IsCompleted: false } r ? r : StartRenewal(account, lease, final);
            }
            try
            {
                await running.ConfigureAwait(false);
                if (final)
                {
                    Task last;
                    lock (account.Gate) last = StartRenewal(account, account.Lease!, final: true);
                    await last.ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                failed++;
            }
        }
        return failed;
    }
}
