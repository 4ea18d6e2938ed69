namespace Okap.Proxy.Pipeline;

/// <summary>The owner's upstream for the provider: base URL and master key (cached), or the refusal saying why there is none.</summary>
internal sealed class ResolveUpstreamStep(UpstreamResolver upstreams, RefusalWriter refusals) : IProxyStep
{
    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        var resolving = upstreams.ResolveAsync(call.Token.OwnerId, call.Descriptor);
        return resolving.IsCompletedSuccessfully ? Take(call, resolving.Result) : AwaitAndTakeAsync(call, resolving);
    }

    private async ValueTask<bool> AwaitAndTakeAsync(ProxyCall call, ValueTask<UpstreamResolution> resolving) =>
        await Take(call, await resolving.ConfigureAwait(false)).ConfigureAwait(false);

    private ValueTask<bool> Take(ProxyCall call, UpstreamResolution resolution)
    {
        if (resolution.Target is not { } target)
            return Step.Stop(refusals.RefuseAsync(call, resolution.Status, resolution.ErrorType!, resolution.Message!));
        call.Target = target;
        return Step.Next;
    }
}
