using Okap.Core.Metering;
using Okap.Core.Providers;

namespace Okap.Proxy;

/// <summary>Per-request state shared by the handler, the transformer and the response meter (an HttpContext feature).</summary>
internal sealed class ProxyCall
{
    public required Uri UpstreamUri { get; init; }
    public required UpstreamTarget Target { get; init; }
    public required ApiFormat Format { get; init; }
    /// <summary>Provider id, for the error bodies written by the transformer.</summary>
    public string? Provider { get; init; }
    public string? BearerOverride { get; set; }
    /// <summary>The vault turned on stream usage for a client that did not ask: hide usage-only chunks.</summary>
    public bool DropUsageChunks { get; init; }
    /// <summary>Whether the response is metered (metered routes only).</summary>
    public bool Metered { get; init; }
    public MeteringResponseStream? Meter { get; set; }
}
