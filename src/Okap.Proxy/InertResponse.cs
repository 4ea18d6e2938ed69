using Microsoft.AspNetCore.Http;

namespace Okap.Proxy;

/// <summary>
/// Makes every proxied answer inert in a browser. A proxied body comes from an upstream the vault does not control
/// (an owner may point an upstream at their own server), and it is served under the vault's name: were it allowed to
/// run as a page it could read another signed-in owner's anti-forgery token and act in their account. So the answer
/// carries a sandbox policy (an opaque origin: no script, no cookies, no same-origin reads), is never sniffed, is never
/// labelled as a document type, and loses every upstream header that could steer a browser (navigation, CORS,
/// site data, cookies, caches of other origins, service workers).
/// </summary>
internal static class InertResponse
{
    /// <summary>The policy on every proxied answer: a sandboxed document with nothing allowed to load.</summary>
    public const string ContentSecurityPolicy = "sandbox; default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    // Upstream headers that would make a browser do something on the vault's origin (or another's).
    private static readonly string[] s_droppedResponseHeaders =
    [
        "Set-Cookie", "Set-Cookie2", "Refresh", "Location", "Content-Location", "Clear-Site-Data", "Link",
        "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
        "Access-Control-Allow-Methods", "Access-Control-Expose-Headers", "Access-Control-Max-Age",
        "Access-Control-Allow-Private-Network", "Timing-Allow-Origin",
        "Content-Security-Policy", "Content-Security-Policy-Report-Only", "X-Content-Security-Policy", "X-WebKit-CSP",
        "X-Frame-Options", "X-XSS-Protection", "X-Content-Type-Options", "Content-Disposition",
        "Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy", "Cross-Origin-Resource-Policy", "Origin-Agent-Cluster",
        "Service-Worker-Allowed", "Service-Worker", "Permissions-Policy", "Feature-Policy", "Document-Policy",
        "Report-To", "Reporting-Endpoints", "NEL", "Alt-Svc", "Strict-Transport-Security", "Public-Key-Pins",
        "Accept-CH", "Critical-CH", "Supports-Loading-Mode", "Speculation-Rules", "SourceMap", "X-SourceMap",
        "Referrer-Policy", "Expect-CT", "X-DNS-Prefetch-Control", "X-Permitted-Cross-Domain-Policies",
    ];

    /// <summary>Removes the upstream's browser-steering headers and adds the vault's own (call after headers are copied).</summary>
    public static void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        foreach (var name in s_droppedResponseHeaders) headers.Remove(name);
        if (IsDocumentType(response.ContentType)) response.ContentType = "text/plain; charset=utf-8";
        AddVaultHeaders(headers);
    }

    /// <summary>The vault's headers on any answer of the proxy route (also the vault's own error bodies).</summary>
    public static void AddVaultHeaders(IHeaderDictionary headers)
    {
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Referrer-Policy"] = "no-referrer";
    }

    /// <summary>
    /// Types a browser renders as a document or runs (HTML, XML, SVG, script): no provider API answers with one, and a
    /// relabelled body stays readable to any API client as text.
    /// </summary>
    internal static bool IsDocumentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return false;
        var media = contentType.AsSpan();
        var semi = media.IndexOf(';');
        if (semi >= 0) media = media[..semi];
        media = media.Trim();
        return media.Contains("html", StringComparison.OrdinalIgnoreCase)
            || media.Contains("xml", StringComparison.OrdinalIgnoreCase)
            || media.Contains("script", StringComparison.OrdinalIgnoreCase)
            || media.StartsWith("image/svg", StringComparison.OrdinalIgnoreCase)
            || media.Equals("multipart/x-mixed-replace", StringComparison.OrdinalIgnoreCase)
            || media.Equals("text/xsl", StringComparison.OrdinalIgnoreCase)
            || media.Equals("application/pdf", StringComparison.OrdinalIgnoreCase);
    }
}
