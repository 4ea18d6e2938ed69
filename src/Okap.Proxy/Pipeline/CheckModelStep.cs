using Microsoft.Extensions.Options;
using Okap.Core.Metering;
using Okap.Core.Providers;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// Checks the model against the grant's allow-list and the output ceiling against <c>tokens_per_request</c>
/// (refused or capped, per <see cref="OkapProxyOptions.TokensPerRequestAction"/>), and decides whether the vault
/// asks an OpenAI-format stream for its usage.
/// </summary>
internal sealed class CheckModelStep(IOptions<OkapProxyOptions> options, RefusalWriter refusals) : IProxyStep
{
    private readonly TokensPerRequestAction _overCeiling = options.Value.TokensPerRequestAction;

    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        var route = call.Route;
        var facts = call.Facts;
        var grant = call.Grant;
        var model = route.PathModel ?? facts.Model;
        call.Model = model;
        if (facts.Model is not null) ProxyTelemetry.Describe(call.Http, call.Provider, route.Kind, model);

        if (route.IsMetered && grant.Models.Count > 0 && !(grant.AllowsModel(model) || (model is not null && grant.AllowsModel("models/" + model))))
        {
            return Step.Stop(refusals.RefuseAsync(call, 403, OkapErrorTypes.ModelNotAllowed,
                model is null ? "This OKAP token is limited to certain models and the request names none." : $"This OKAP token does not grant model '{model}'."));
        }

        var maxOutField = RequestInspector.MaxOutputField(route.Kind, call.Provider);
        call.MaxOutputField = maxOutField;
        if (route.IsMetered && grant.Limits.TokensPerRequest is { } tpr && maxOutField is not null)
        {
            if (facts.MaxOutputTokens > tpr)
            {
                if (_overCeiling == TokensPerRequestAction.Refuse)
                {
                    return Step.Stop(refusals.RefuseAsync(call, 400, OkapErrorTypes.TokensPerRequest,
                        $"The request asks for {facts.MaxOutputTokens} output tokens; this OKAP token allows at most {tpr} per request."));
                }
                call.CapOutput = tpr;
            }
            else if (facts.MaxOutputTokens is null && call.Body is not null)
            {
                call.CapOutput = tpr;
            }
        }

        // Stream usage: ask OpenAI-format providers for it when the client did not.
        var streams = facts.Stream || route.PathStreams;
        call.DropUsageChunks = streams && call.Body is not null && route.Format == ApiFormat.OpenAI && facts.IncludeUsage != true
                               && route.Kind is RouteKind.ChatCompletions or RouteKind.Completions && call.Provider != "mistral";
        return Step.Next;
    }
}
