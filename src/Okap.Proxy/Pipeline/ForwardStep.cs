using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Okap.Core.Metering;
using Yarp.ReverseProxy.Forwarder;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// Sends the call upstream with YARP's forwarder: the body as inspected (rewritten when the vault caps its output or
/// asks for stream usage), the token's <c>?key=</c> left out of the query, the master key added by the transformer.
/// </summary>
internal sealed class ForwardStep(IHttpForwarder forwarder, UpstreamClient client, IOptions<OkapProxyOptions> options) : IProxyStep
{
    private readonly ForwarderRequestConfig _requestConfig = new() { ActivityTimeout = options.Value.UpstreamTimeout, AllowResponseBuffering = false };

    public async ValueTask<bool> RunAsync(ProxyCall call)
    {
        var context = call.Http;
        ReplayBody(call);
        call.UpstreamUri = BuildUpstreamUri(call.Target.BaseUrl, call.Path, context.Request.QueryString, context.Request.Query);
        context.Features.Set(call);
        try
        {
            ProxyTelemetry.UpstreamStarted(context);
            var invoker = call.Target.OwnerDefined ? client.OwnerInvoker : client.Invoker;
            call.Error = await forwarder.SendAsync(context, call.Target.BaseUrl, invoker, _requestConfig, ProxyTransformer.Instance).ConfigureAwait(false);
            if (call.Meter is { } meter) await meter.CompleteAsync(forwardHeld: call.Error == ForwarderError.None, context.RequestAborted).ConfigureAwait(false);
            ProxyTelemetry.UpstreamEnded(context);
        }
        finally
        {
            call.RestoreClientBody();
        }
        return true;
    }

    private static void ReplayBody(ProxyCall call)
    {
        if (call.Body is not { } body) return;
        var request = call.Http.Request;
        var send = body.AsMemory(0, call.BodyLength);
        if (call.CapOutput is not null || call.DropUsageChunks)
            send = RequestInspector.Rewrite(send.Span, call.CapOutput, call.MaxOutputField, call.DropUsageChunks);
        request.Body = new ReadOnlyMemoryStream(send);
        request.ContentLength = send.Length;
        request.Headers.Remove("Transfer-Encoding");
    }

    private static Uri BuildUpstreamUri(string baseUrl, string path, QueryString query, IQueryCollection parsed)
    {
        if (query.HasValue && parsed.ContainsKey("key"))
        {
            // Query names are matched without regard to case when the token is read, so they are removed the same way.
            query = QueryString.Create(parsed.Where(kv => !string.Equals(kv.Key, "key", StringComparison.OrdinalIgnoreCase))
                .SelectMany(kv => kv.Value.Select(v => new KeyValuePair<string, string?>(kv.Key, v))));
        }
        return RequestUtilities.MakeDestinationAddress(baseUrl, path.Length == 0 ? PathString.Empty : new PathString("/" + path), query);
    }
}
