using Microsoft.AspNetCore.Http;
using Okap.Core.Metering;
using Okap.Core.Providers;
using Okap.Core.Tokens;
using Yarp.ReverseProxy.Forwarder;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// One proxied call as it moves through the <see cref="ProxyPipeline"/>: each step reads what earlier steps found and
/// adds its own. Also the HttpContext feature the transformer and the response meter read while forwarding.
/// </summary>
internal sealed class ProxyCall(HttpContext http, string provider, string path)
{
    // A body that was not read has no facts; one shared instance, so an unread body costs no allocation.
    private static readonly RequestFacts NoFacts = new() { IsJsonObject = false };

    public HttpContext Http { get; } = http;
    /// <summary>Provider id from the route (checked by <see cref="AdmitStep"/>); also for the error bodies the transformer writes.</summary>
    public string Provider { get; } = provider;
    /// <summary>The path after <c>/v1/{provider}/</c>.</summary>
    public string Path { get; } = path;

    // Set by AuthenticateStep.
    public TokenRecord Token { get; set; } = null!;
    public Grant Grant { get; set; } = null!;

    // Set by ClassifyRouteStep.
    public ProviderDescriptor Descriptor { get; set; } = null!;
    public RouteInfo Route { get; set; }
    public ApiFormat Format => Route.Format;
    /// <summary>Whether the response is metered (metered routes only).</summary>
    public bool Metered => Route.IsMetered;

    // Set by InspectBodyStep: the buffered body (rented from the array pool, returned by the pipeline) and what it asks.
    public byte[]? Body { get; set; }
    public int BodyLength { get; set; }
    public RequestFacts Facts { get; set; } = NoFacts;

    // Set by CheckModelStep.
    public string? Model { get; set; }
    public string? MaxOutputField { get; set; }
    /// <summary>The output ceiling to write into the body (tokens_per_request), null to leave it.</summary>
    public long? CapOutput { get; set; }
    /// <summary>The vault turned on stream usage for a client that did not ask: hide usage-only chunks.</summary>
    public bool DropUsageChunks { get; set; }

    // Set by PriceStep, ResolveUpstreamStep, ReserveBudgetStep and UpstreamCredentialStep.
    public Core.Pricing.ModelPrice? Price { get; set; }
    public UpstreamTarget Target { get; set; } = null!;
    public Reservation? Reservation { get; set; }
    public string? BearerOverride { get; set; }

    // Set by MeterStep: the metering stream in front of the client's response body, and that body.
    public MeteringResponseStream? Meter { get; set; }
    public Stream? ClientBody { get; set; }

    // Set by ForwardStep, read by SettleStep.
    public Uri UpstreamUri { get; set; } = null!;
    public ForwarderError Error { get; set; }
    /// <summary>The reservation was settled or released; the pipeline releases one that was not.</summary>
    public bool Settled { get; set; }

    /// <summary>Puts the client's response body back in place of the meter (error bodies go to the client directly).</summary>
    public void RestoreClientBody()
    {
        if (ClientBody is null) return;
        Http.Response.Body = ClientBody;
        ClientBody = null;
    }
}
