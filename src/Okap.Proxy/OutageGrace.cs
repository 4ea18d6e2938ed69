using Microsoft.Extensions.Options;

namespace Okap.Proxy;

/// <summary>
/// The operator's choice for store outages (<see cref="OkapProxyOptions.StoreOutageGrace"/>,
/// <see cref="OkapProxyOptions.FailClosedOnStoreOutage"/>): whether, and for how long after its last successful read, a
/// cached token, upstream or price list may still be used when the store cannot be reached. Times are
/// <see cref="TimeProvider.GetTimestamp"/> ticks.
/// </summary>
internal sealed class OutageGrace
{
    private readonly long _graceTicks;
    private readonly long _retryTicks;

    public OutageGrace(TimeProvider time, IOptions<OkapProxyOptions> options)
    {
        var o = options.Value;
        _graceTicks = o.FailClosedOnStoreOutage ? 0 : (long)(o.StoreOutageGrace.TotalSeconds * time.TimestampFrequency);
        // While the store is known to be down, ask it again at most this often (and serve what is known meanwhile),
        // so an outage does not make every call wait for the store's timeout.
        _retryTicks = (long)(o.TokenCacheTtl.TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>How long a known entry must be kept to serve it in an outage (0: not at all).</summary>
    public long GraceTicks => _graceTicks;

    /// <summary>An entry read at <paramref name="readAt"/> may stand in for the store at <paramref name="now"/>.</summary>
    public bool MayServe(long readAt, long now) => _graceTicks > 0 && now - readAt < _graceTicks;

    /// <summary>The store failed at <paramref name="failedAt"/> (0: not known to fail) so recently that the entry is served without asking it again.</summary>
    public bool SkipStore(long readAt, long failedAt, long now) => failedAt != 0 && now - failedAt < _retryTicks && MayServe(readAt, now);
}
