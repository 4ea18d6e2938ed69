using Microsoft.Extensions.Options;

namespace Okap.Core;

/// <summary>
/// Where the vault's page and its proxy are served. When <see cref="ProxyOriginOptions.PublicUrl"/> names a host of its
/// own, the proxy answers only there and the page, sign-in, admin and OKAP routes never do: an upstream's answer then
/// lives on an origin that holds no cookie and no page, so even a body that ran could reach nothing of an owner's.
/// </summary>
public sealed class VaultOrigins
{
    private readonly Uri? _proxy;

    /// <summary>Reads <see cref="VaultOptions.PublicUrl"/> and <see cref="VaultOptions.Proxy"/>.</summary>
    public VaultOrigins(IOptions<VaultOptions> options)
    {
        var o = options.Value;
        var page = new Uri(o.PublicUrl);
        _proxy = string.IsNullOrEmpty(o.Proxy.PublicUrl) ? null : new Uri(o.Proxy.PublicUrl);
        OriginHostHeader = string.IsNullOrEmpty(o.Proxy.OriginHostHeader) ? null : o.Proxy.OriginHostHeader;
        ProxyRoot = (_proxy ?? page).GetLeftPart(UriPartial.Authority);
    }

    /// <summary>True when the proxy has an origin of its own.</summary>
    public bool Separate => _proxy is not null;

    /// <summary>Root URL apps' <c>base_url</c>s start with (no trailing slash): the proxy's own origin, else the page's.</summary>
    public string ProxyRoot { get; }

    /// <summary>Header an edge (Front Door) sets to the host the client asked for, when it rewrites <c>Host</c>; null uses <c>Host</c>.</summary>
    public string? OriginHostHeader { get; }

    /// <summary>The host a request was addressed to: the edge's header when configured and present, else its <c>Host</c>.</summary>
    public string? RequestHost(string? hostHeader, Func<string, string?> header)
    {
        if (OriginHostHeader is not null && header(OriginHostHeader) is { Length: > 0 } forwarded)
        {
            // An edge appends when a client sent its own copy: the last value is the edge's.
            var comma = forwarded.LastIndexOf(',');
            return (comma >= 0 ? forwarded[(comma + 1)..] : forwarded).Trim();
        }
        return hostHeader;
    }

    /// <summary>Whether the proxy may answer a request addressed to <paramref name="host"/> (always, unless the proxy has its own origin).</summary>
    public bool ServesProxy(string? host) => _proxy is null || Matches(host, _proxy);

    /// <summary>Whether the page and its API may answer on <paramref name="host"/>: anywhere but the proxy's own origin.</summary>
    public bool ServesPage(string? host) => _proxy is null || !Matches(host, _proxy);

    private static bool Matches(string? host, Uri origin)
    {
        if (string.IsNullOrEmpty(host)) return false;
        var (name, port) = Split(host);
        if (port is null) port = origin.Port;
        return port == origin.Port && string.Equals(name.TrimEnd('.'), origin.IdnHost, StringComparison.OrdinalIgnoreCase);
    }

    private static (string Name, int? Port) Split(string host)
    {
        var colon = host.LastIndexOf(':');
        var bracket = host.LastIndexOf(']');
        if (colon > bracket && int.TryParse(host.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
            return (host[..colon], port);
        return (host, null);
    }
}

/// <summary>The proxy's public origin (<c>Okap:Proxy:PublicUrl</c>, <c>Okap:Proxy:OriginHostHeader</c>).</summary>
public sealed class ProxyOriginOptions
{
    /// <summary>
    /// Root URL of the proxy when it has an origin of its own, e.g. <c>https://api.vault.example.com</c>: tokens'
    /// <c>base_url</c>s point there, the proxy answers only there, and the page never does. Empty: the proxy shares the
    /// page's origin (its answers are still made inert).
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>
    /// Header that carries the host the client asked for when an edge rewrites <c>Host</c> (Azure Front Door sending each
    /// origin its own host name); set by the edge on every request, e.g. <c>X-Okap-Origin-Host</c>. Empty: <c>Host</c>.
    /// </summary>
    public string? OriginHostHeader { get; set; }
}
