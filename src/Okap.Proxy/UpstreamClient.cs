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
            if (addresses.Length == 0) throw new HttpRequestException("The owner's upstream resolves only to private, loopback, link-local or other special-purpose addresses.");
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

    /// <summary>
    /// True for addresses on the public internet. Every IANA special-purpose range that is not globally reachable is
    /// refused, and so are the translation ranges (NAT64, 6to4, Teredo, IPv4-compatible) whose embedded IPv4 address
    /// could name a private host.
    /// </summary>
    internal static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast)) return false;
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast) return false;
            if ((b[0] & 0xFE) == 0xFC) return false;                                       // fc00::/7 unique local
            if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0) return false;               // ::/96 IPv4-compatible
            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B) return false; // 64:ff9b::/96, 64:ff9b:1::/48 NAT64
            if (b[0] == 0x01 && b[1] == 0x00 && b.AsSpan(2, 6).IndexOfAnyExcept((byte)0) < 0) return false; // 100::/64 discard
            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return false; // 2001:db8::/32 documentation
            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) return false; // 2001::/32 Teredo
            if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && (b[3] & 0xF0) == 0x10) return false; // 2001:10::/28 ORCHID
            if (b[0] == 0x20 && b[1] == 0x02) return false;                                // 2002::/16 6to4
            if (b[0] == 0x3F && b[1] == 0xFF && (b[2] & 0xF0) == 0x00) return false;       // 3fff::/20 documentation
            return true;
        }
        return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224              // this network, private, loopback, multicast, reserved
                 || (b[0] == 169 && b[1] == 254)                                      // link-local
                 || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)                          // private
                 || (b[0] == 192 && b[1] == 168)                                       // private
                 || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)                         // shared address space (CGN)
                 || (b[0] == 192 && b[1] == 0 && (b[2] == 0 || b[2] == 2))             // IETF protocol assignments, TEST-NET-1
                 || (b[0] == 192 && b[1] == 88 && b[2] == 99)                          // 6to4 relay anycast
                 || (b[0] == 198 && (b[1] == 18 || b[1] == 19))                        // benchmarking 198.18.0.0/15
                 || (b[0] == 198 && b[1] == 51 && b[2] == 100)                         // TEST-NET-2
                 || (b[0] == 203 && b[1] == 0 && b[2] == 113));                        // TEST-NET-3
    }

    public void Dispose()
    {
        Invoker.Dispose();
        OwnerInvoker.Dispose();
        _operatorHandler.Dispose();
        _ownerHandler.Dispose();
    }
}
