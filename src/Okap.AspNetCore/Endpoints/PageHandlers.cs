using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;

namespace Okap.AspNetCore.Endpoints;

/// <summary>
/// Serves the owner's web page from resources embedded in this assembly, so both hosts serve the same bytes with
/// the same headers: a strict Content-Security-Policy (no inline script), no framing, no sniffing.
/// </summary>
public sealed class PageHandlers
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
        "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private readonly FrozenDictionary<string, PageAsset> _assets;

    public PageHandlers()
    {
        var assembly = typeof(PageHandlers).Assembly;
        var types = new FileExtensionContentTypeProvider();
        var assets = new Dictionary<string, PageAsset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var path = name["wwwroot/".Length..];
            if (!types.TryGetContentType(path, out var type)) type = "application/octet-stream";
            if (type.StartsWith("text/", StringComparison.Ordinal) || type is "application/javascript" or "application/json") type += "; charset=utf-8";
            assets[path] = new PageAsset(bytes, type, "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
        }
        _assets = assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Paths of every embedded asset (relative to the site root).</summary>
    public IEnumerable<string> AssetPaths => _assets.Keys;

    /// <summary><c>GET /</c> and the page's client-side routes.</summary>
    public IResult Index(HttpContext context) => Serve(context, "index.html");

    /// <summary><c>GET /assets/{**path}</c>.</summary>
    public IResult Asset(HttpContext context, string path) => Serve(context, "assets/" + path);

    private IResult Serve(HttpContext context, string path)
    {
        if (!_assets.TryGetValue(path, out var asset)) return Results.NotFound();
        var headers = context.Response.Headers;
        ApplySecurityHeaders(context.Response);
        headers.ETag = asset.ETag;
        headers.CacheControl = path == "index.html" ? "no-cache" : "public, max-age=300";
        if (context.Request.Headers.IfNoneMatch == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    /// <summary>Headers every page response carries.</summary>
    public static void ApplySecurityHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
    }

    private sealed record PageAsset(byte[] Bytes, string ContentType, string ETag);
}
