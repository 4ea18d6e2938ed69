using Microsoft.Extensions.Logging;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// For an upstream reached with the vault's managed identity, gets the bearer token for this call (the key-based
/// credential is already in the resolved target). Runs after the budget step, as the call is about to be sent.
/// </summary>
internal sealed class UpstreamCredentialStep(IUpstreamTokenSource managedIdentity, ILogger<ProxyHandler> logger) : IProxyStep
{
    public ValueTask<bool> RunAsync(ProxyCall call) => call.Target.ManagedIdentity ? FetchAsync(call) : Step.Next;

    private async ValueTask<bool> FetchAsync(ProxyCall call)
    {
        try
        {
            call.BearerOverride = "Bearer " + await managedIdentity.GetTokenAsync(call.Target.ManagedIdentityClientId, call.Http.RequestAborted).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.UpstreamFailed(logger, call.Provider, "managed identity token", ex.GetType().Name);
            await RefusalWriter.ErrorAsync(call, 502, OkapErrorTypes.UpstreamUnavailable, "The vault could not get a managed identity token for the provider.").ConfigureAwait(false);
            return false;
        }
    }
}
