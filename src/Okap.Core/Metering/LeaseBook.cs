using System.Text.Json;
using System.Text.Json.Serialization;
using Okap.Core.Tokens;

namespace Okap.Core.Metering;

/// <summary>
/// A grant's budget leases as kept in the shared store (one document per grant, replaced with a conditional write):
/// what the grant has spent and used today and this month, the per-minute slots counted in each 5-second bucket of the
/// sliding window, and what each instance ("holder") holds. Invariant, for every limit the grant has:
/// spent (or used) + everything held by all holders ≤ the limit. An instance spends only what it holds, so all
/// instances together cannot pass a limit (except by a settled call costing more than its reservation).
/// </summary>
internal sealed class LeaseState
{
    public string Day { get; set; } = "";
    public string Month { get; set; } = "";
    public long DaySpent { get; set; }
    public long MonthSpent { get; set; }
    public long DayRequests { get; set; }
    /// <summary>Per-minute slots counted (handed out) per bucket (unix ms / <see cref="LeaseBook.BucketMs"/>).</summary>
    public Dictionary<long, int> Rpm { get; set; } = [];
    public Dictionary<string, HolderLease> Holders { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>What one instance holds of a grant.</summary>
internal sealed class HolderLease
{
    public long Seq { get; set; }
    public long Micros { get; set; }
    public long Requests { get; set; }
    public long ExpiresMs { get; set; }
    public Dictionary<long, int> RpmSlots { get; set; } = [];
    // The outcome of the request numbered Seq, answered again when that request is retried.
    public long LastMicros { get; set; }
    public long LastRequests { get; set; }
    public int LastRpm { get; set; }
    public long LastRpmBucket { get; set; }
    public LimitKind LastRefused { get; set; }
    public long LastRetryMs { get; set; }
    public bool LastReclaimed { get; set; }
    // After a spend refusal: what was left of the refused cap, past everything spent and held by every instance.
    public long LastLeftMicros { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(LeaseState))]
internal sealed partial class LeaseJsonContext : JsonSerializerContext;

/// <summary>
/// One instance's request against a grant's lease document: report what it spent and used of what it holds, give
/// back what it no longer needs and ask for more. Numbered: a request already applied (its reply was lost) is
/// answered from the document instead of being applied twice.
/// </summary>
internal sealed record LeaseRequest
{
    public required string Holder { get; init; }
    public required long Seq { get; init; }
    public long ReportMicros { get; init; }
    public long ReportRequests { get; init; }
    public long ReleaseMicros { get; init; }
    public long ReleaseRequests { get; init; }
    /// <summary>Unused per-minute slots of buckets that are over (this holder can no longer use them).</summary>
    public Dictionary<long, int> RpmReturn { get; init; } = [];
    public long NeedMicros { get; init; }
    public long WantMicros { get; init; }
    public long NeedRequests { get; init; }
    public long WantRequests { get; init; }
    public long RpmBucket { get; init; }
    public int NeedRpm { get; init; }
    public int WantRpm { get; init; }
    /// <summary>The holder is going away: drop its entry when it holds nothing.</summary>
    public bool Final { get; init; }
}

/// <summary>The store's answer to a <see cref="LeaseRequest"/>.</summary>
/// <param name="Write">False when the request had already been applied: nothing to write.</param>
/// <param name="Reclaimed">The holder's earlier lease had expired and was counted as spent; its report was not added again.</param>
/// <param name="RpmBucket">The bucket <paramref name="GrantedRpm"/> slots were counted in: they may be used only during it.</param>
/// <param name="LeftMicros">After a spend refusal: what was left of the refused cap past everything spent and held (for the refusal's message).</param>
internal readonly record struct LeaseOutcome(bool Write, bool Reclaimed, long GrantedMicros, long GrantedRequests, int GrantedRpm, long RpmBucket, LimitKind Refused, TimeSpan? RetryAfter, long LeftMicros = 0);

/// <summary>The rules of <see cref="LeaseState"/>: pure, so every store applies them the same way inside its conditional write.</summary>
internal static class LeaseBook
{
    /// <summary>Width of a per-minute bucket.</summary>
    public const long BucketMs = 5_000;

    /// <summary>
    /// Buckets one per-minute window spans: any 60-second interval touches at most 13 consecutive 5-second buckets,
    /// so "slots counted in the last 13 buckets ≤ rpm" means no 60 seconds ever see more than rpm calls.
    /// </summary>
    public const int WindowBuckets = 13;

    public static long Bucket(long unixMs) => unixMs / BucketMs;

    public static LeaseState Parse(string? json) =>
        string.IsNullOrEmpty(json) ? new LeaseState() : JsonSerializer.Deserialize(json, LeaseJsonContext.Default.LeaseState) ?? new LeaseState();

    public static string Serialize(LeaseState state) => JsonSerializer.Serialize(state, LeaseJsonContext.Default.LeaseState);

    /// <summary>Applies <paramref name="request"/> to <paramref name="state"/> (in place) at <paramref name="now"/>.</summary>
    public static LeaseOutcome Apply(LeaseState state, LeaseRequest request, Limits limits, DateTimeOffset now, TimeSpan ttl)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var day = UsageKeys.Day(now);
        var month = UsageKeys.Month(now);
        if (state.Day != day)
        {
            // What is still held stays held: a new day starts with the old day's leases counted against it (stricter).
            state.Day = day;
            state.DaySpent = 0;
            state.DayRequests = 0;
        }
        if (state.Month != month)
        {
            state.Month = month;
            state.MonthSpent = 0;
        }
        var current = Bucket(nowMs);

        // A lease that expired belongs to an instance that stopped renewing (died, or lost the store): what it held
        // counts as spent, for good. A crash makes the vault stricter, never looser.
        List<string>? expired = null;
        foreach (var (holder, lease) in state.Holders)
        {
            if (lease.ExpiresMs <= nowMs && (holder != request.Holder || lease.Seq < request.Seq)) (expired ??= []).Add(holder);
        }
        if (expired is not null)
        {
            foreach (var holder in expired)
            {
                var lease = state.Holders[holder];
                state.DaySpent += lease.Micros;
                state.MonthSpent += lease.Micros;
                state.DayRequests += lease.Requests;
                state.Holders.Remove(holder);
            }
        }
        List<long>? old = null;
        foreach (var bucket in state.Rpm.Keys) if (bucket <= current - WindowBuckets) (old ??= []).Add(bucket);
        if (old is not null) foreach (var bucket in old) state.Rpm.Remove(bucket);

        if (state.Holders.TryGetValue(request.Holder, out var e) && e.Seq >= request.Seq)
        {
            return new LeaseOutcome(false, e.LastReclaimed, e.LastMicros, e.LastRequests, e.LastRpm, e.LastRpmBucket, e.LastRefused,
                e.LastRefused == LimitKind.None ? null : TimeSpan.FromMilliseconds(e.LastRetryMs), e.LastLeftMicros);
        }
        var reclaimed = e is null && request.Seq > 1;
        if (e is null)
        {
            e = new HolderLease();
            state.Holders[request.Holder] = e;
        }
        if (!reclaimed)
        {
            state.DaySpent += request.ReportMicros;
            state.MonthSpent += request.ReportMicros;
            state.DayRequests += request.ReportRequests;
            e.Micros = Math.Max(0, e.Micros - request.ReportMicros - request.ReleaseMicros);
            e.Requests = Math.Max(0, e.Requests - request.ReportRequests - request.ReleaseRequests);
            foreach (var (bucket, unused) in request.RpmReturn)
            {
                if (!e.RpmSlots.TryGetValue(bucket, out var held)) continue;
                var back = Math.Min(unused, held);
                if (state.Rpm.TryGetValue(bucket, out var counted)) state.Rpm[bucket] = Math.Max(0, counted - back);
                e.RpmSlots.Remove(bucket);
            }
        }
        List<long>? stale = null;
        foreach (var bucket in e.RpmSlots.Keys) if (bucket < current) (stale ??= []).Add(bucket);
        if (stale is not null) foreach (var bucket in stale) e.RpmSlots.Remove(bucket);

        // What may still be handed out. Each grant gets at most half of what is left (or exactly what the call needs),
        // so slices shrink near a limit and several instances share the rest instead of one taking it all.
        long micros = 0, requests = 0;
        int rpm = 0;
        var refused = LimitKind.None;
        long leftMicros = 0;
        TimeSpan? retry = null;
        var rpmBucket = Math.Max(current, request.RpmBucket);
        if (limits.RequestsPerMinute is { } perMinute && (request.NeedRpm > 0 || request.WantRpm > 0))
        {
            var room = perMinute - WindowPeak(state, rpmBucket);
            if (request.NeedRpm > room)
            {
                refused = LimitKind.RequestsPerMinute;
                retry = UntilSlotFrees(state, perMinute, current, nowMs);
            }
            else
            {
                rpm = (int)Math.Clamp(Math.Min(request.WantRpm, Math.Max(request.NeedRpm, room / 2)), 0, Math.Max(0, room));
            }
        }
        if (refused == LimitKind.None && limits.RequestsPerDay is { } perDay && (request.NeedRequests > 0 || request.WantRequests > 0))
        {
            var left = perDay - state.DayRequests - state.Holders.Values.Sum(h => h.Requests);
            if (request.NeedRequests > left)
            {
                refused = LimitKind.RequestsPerDay;
                var midnight = now.UtcDateTime.Date.AddDays(1) - now.UtcDateTime;
                // Exhausted for the day, or only held by other instances, which give back what they do not use.
                retry = state.DayRequests >= perDay ? midnight : (ttl < midnight ? ttl : midnight);
            }
            else
            {
                requests = Math.Clamp(Math.Min(request.WantRequests, Math.Max(request.NeedRequests, left / 2)), 0, Math.Max(0, left));
            }
        }
        if (refused == LimitKind.None && limits.HasSpendCap && (request.NeedMicros > 0 || request.WantMicros > 0))
        {
            var held = state.Holders.Values.Sum(h => h.Micros);
            var dayLeft = limits.DailySpendMicros is { } daily ? daily - state.DaySpent - held : long.MaxValue;
            var monthLeft = limits.MonthlySpendMicros is { } monthly ? monthly - state.MonthSpent - held : long.MaxValue;
            var left = Math.Min(dayLeft, monthLeft);
            if (request.NeedMicros > left)
            {
                refused = dayLeft <= monthLeft ? LimitKind.DailySpend : LimitKind.MonthlySpend;
                leftMicros = Math.Max(0, left);
            }
            else
            {
                micros = Math.Clamp(Math.Min(request.WantMicros, Math.Max(request.NeedMicros, left / 2)), 0, Math.Max(0, left));
            }
        }
        if (refused != LimitKind.None)
        {
            // The call is refused: hand out nothing else for it (slots given now would count against the window).
            micros = requests = rpm = 0;
        }
        else if (rpm > 0)
        {
            state.Rpm[rpmBucket] = state.Rpm.GetValueOrDefault(rpmBucket) + rpm;
            e.RpmSlots[rpmBucket] = e.RpmSlots.GetValueOrDefault(rpmBucket) + rpm;
        }
        e.Micros += micros;
        e.Requests += requests;
        e.Seq = request.Seq;
        e.ExpiresMs = nowMs + (long)ttl.TotalMilliseconds;
        e.LastMicros = micros;
        e.LastRequests = requests;
        e.LastRpm = rpm;
        e.LastRpmBucket = rpmBucket;
        e.LastRefused = refused;
        e.LastRetryMs = (long)(retry?.TotalMilliseconds ?? 0);
        e.LastReclaimed = reclaimed;
        e.LastLeftMicros = leftMicros;
        if (request.Final && e.Micros == 0 && e.Requests == 0 && e.RpmSlots.Count == 0) state.Holders.Remove(request.Holder);
        return new LeaseOutcome(true, reclaimed, micros, requests, rpm, rpmBucket, refused, retry, leftMicros);
    }

    /// <summary>Slots counted in the window that ends with bucket <paramref name="current"/> (and any taken ahead for later buckets).</summary>
    public static int CountedInWindow(LeaseState state, long current)
    {
        var sum = 0;
        foreach (var (b, n) in state.Rpm) if (b > current - WindowBuckets) sum += n;
        return sum;
    }

    /// <summary>The most slots any window that contains <paramref name="bucket"/> already counts.</summary>
    private static int WindowPeak(LeaseState state, long bucket)
    {
        var last = bucket;
        foreach (var b in state.Rpm.Keys) if (b > last) last = b;
        var peak = 0;
        for (var end = bucket; end <= last; end++)
        {
            var sum = 0;
            foreach (var (b, n) in state.Rpm) if (b > end - WindowBuckets && b <= end) sum += n;
            peak = Math.Max(peak, sum);
        }
        return peak;
    }

    /// <summary>Time until the first bucket in which a slot is free (the oldest counted bucket leaves the window).</summary>
    private static TimeSpan UntilSlotFrees(LeaseState state, int perMinute, long current, long nowMs)
    {
        for (var bucket = current + 1; bucket <= current + WindowBuckets; bucket++)
        {
            if (perMinute - WindowPeak(state, bucket) >= 1) return TimeSpan.FromMilliseconds(bucket * BucketMs - nowMs);
        }
        return TimeSpan.FromMilliseconds((current + WindowBuckets) * BucketMs - nowMs);
    }
}
