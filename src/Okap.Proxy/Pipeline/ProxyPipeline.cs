using System.Buffers;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// The proxy's steps in the order a call goes through them (see <c>AddOkapProxy</c> and docs/architecture.md). A step
/// that answers the call ends it; whatever happens, a reservation never settled is released and the pooled body
/// buffer returned.
/// </summary>
internal sealed class ProxyPipeline(IReadOnlyList<IProxyStep> steps, SettleStep settle)
{
    private readonly IProxyStep[] _steps = [.. steps];

    /// <summary>The steps, in order (for tests and docs).</summary>
    public IReadOnlyList<IProxyStep> Steps => _steps;

    public async Task RunAsync(ProxyCall call)
    {
        try
        {
            foreach (var step in _steps)
            {
                if (!await step.RunAsync(call).ConfigureAwait(false)) return;
            }
        }
        finally
        {
            call.RestoreClientBody();
            settle.ReleaseUnsettled(call);
            if (call.Body is { } body)
            {
                call.Body = null;
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }
}
