using Okap.Core.Providers;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// Reads what the route does (chat, embeddings, … or "other") and refuses routes the grant does not cover: a
/// capability it lacks, or batches, files and uploads for a token with any restriction.
/// </summary>
internal sealed class ClassifyRouteStep(RefusalWriter refusals) : IProxyStep
{
    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        var request = call.Http.Request;
        call.Descriptor = ProviderCatalog.Resolve(call.Provider);
        var route = RouteClassifier.Classify(call.Descriptor.Format, request.Method, call.Path);
        call.Route = route;
        ProxyTelemetry.Describe(call.Http, call.Provider, route.Kind, route.PathModel);
        var grant = call.Grant;
        // Batches, files and uploads run work the vault cannot see per call: a token with any model, capability or limit
        // restriction (tokens_per_request and rate limits included, since one batch is one call) may not use them.
        if (route.Kind == RouteKind.Other && (grant.Capabilities.Count > 0 || grant.Models.Count > 0 || grant.Limits.HasAnyLimit))
        {
            return Step.Stop(refusals.RefuseAsync(call, 403, OkapErrorTypes.CapabilityNotAllowed,
                grant.Capabilities.Count > 0 || grant.Models.Count > 0
                    ? $"This OKAP token may not call '{request.Method} {call.Path}': only routes of its granted capabilities ({string.Join(", ", grant.Capabilities.DefaultIfEmpty("chat"))}) are allowed."
                    : $"This OKAP token may not call '{request.Method} {call.Path}': it has limits, and the vault meters only model calls (batches, files and uploads would escape them)."));
        }
        if (route.IsMetered && !grant.AllowsCapability(route.Capability))
            return Step.Stop(refusals.RefuseAsync(call, 403, OkapErrorTypes.CapabilityNotAllowed, $"This OKAP token does not grant the '{route.Capability}' capability."));
        return Step.Next;
    }
}
