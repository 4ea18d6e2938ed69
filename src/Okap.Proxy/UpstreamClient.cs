using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Okap.Proxy;

/// <summary>
/// The one HTTP client every upstream call shares: no redirects, no cookies, no proxy, no decompression. Connections
/// to an owner-defined upstream never reach loopback, private or link-local addresses (which would let an owner aim
/// the vault at its own network or at the cloud metadata endpoint), unless the operator allows it.
/// </summary>
internal sealed class UpstreamClient : IDisposable
{
    private readonly SocketsHttpHandler _operatorHandler;
    private readonly SocketsHttpHandler _ownerHandler;

    public UpstreamClient(IOptions<OkapProxyOptions> options)
    {
        _operatorHandler = CreateHandler(guardPrivate: false);
        // Owners' upstreams get their own connection pool: a pooled connection to an operator's private upstream can
        // never be reused for an owner URL that names the same host.
        _ownerHandler = CreateHandler(guardPrivate: !options.Value.AllowPrivateOwnerUpstreams);
        Invoker = new HttpMessageInvoker(_operatorHandler, disposeHandler: false);
        OwnerInvoker = new HttpMessageInvoker(_ownerHandler, disposeHandler: false);
    }

    /// <summary>For the operator's configured upstreams.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <summary>For owner-defined base URLs.</summary>
    public HttpMessageInvoker OwnerInvoker { get; }

    private static SocketsHttpHandler CreateHandler(bool guardPrivate) => new()
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
        ConnectCallback = (context, ct) => ConnectAsync(context, guardPrivate, ct),
    };

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool guardPrivate, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
        // The check runs on the addresses actually dialled, so a DNS answer cannot slip a private address past it.
        if (guardPrivate)
        {
            addresses = Array.FindAll(addresses, IsPublic);
            if (addresses.Length == 0) throw new HttpRequestException("The owner's upstream resolves only to private, loopback or link-local addresses.");
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>True for addresses on the public internet.</summary>
    internal static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast)) return false;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b6 = address.GetAddressBytes();
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b6[0] & 0xFE) == 0xFC);
        }
        var b = address.GetAddressBytes();
        return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224
                 || (b[0] == 169 && b[1] == 254)
                 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                 || (b[0] == 192 && b[1] == 168)
                 || (b[0] == 100 && b[1] >= 64 && b[1] <= 127));
    }

    public void Dispose()
    {
        Invoker.Dispose();
        OwnerInvoker.Dispose();
        _operatorHandler.Dispose();
        _ownerHandler.Dispose();
    }
}
