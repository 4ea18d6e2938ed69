using System.Diagnostics;
using System.Net;

namespace Okap.Proxy;

/// <summary>The one HTTP client every upstream call shares: no redirects, no cookies, no proxy, no decompression.</summary>
internal sealed class UpstreamClient : IDisposable
{
    public UpstreamClient()
    {
        Handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
        };
        Invoker = new HttpMessageInvoker(Handler, disposeHandler: false);
    }

    public SocketsHttpHandler Handler { get; }
    public HttpMessageInvoker Invoker { get; }

    public void Dispose()
    {
        Invoker.Dispose();
        Handler.Dispose();
    }
}
