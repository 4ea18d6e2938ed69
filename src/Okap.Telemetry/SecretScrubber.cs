using System.Diagnostics;
using OpenTelemetry;

namespace Okap.Telemetry;

/// <summary>
/// Last line of defence before any exporter sees a span: removes query strings (Gemini clients send the OKAP token as
/// <c>?key=</c>), any recorded header, user info in URLs and Table Storage entity keys in URL paths (a token's row key
/// is its hash), whichever instrumentation added them. Registered before every exporter, so what leaves the process
/// has passed here.
/// </summary>
internal sealed class SecretScrubber : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        List<string>? remove = null;
        List<(string Key, string Value)>? replace = null;
        foreach (var tag in data.TagObjects)
        {
            var key = tag.Key;
            if (key is "url.query" or "http.target" || key.StartsWith("http.request.header.", StringComparison.Ordinal)
                || key.StartsWith("http.response.header.", StringComparison.Ordinal))
            {
                (remove ??= []).Add(key);
            }
            else if (key is "url.full" or "http.url" && tag.Value is string url && SafeUrl(url) is { } stripped && !ReferenceEquals(stripped, url))
            {
                (replace ??= []).Add((key, stripped));
            }
        }
        if (remove is not null) foreach (var key in remove) data.SetTag(key, null);
        if (replace is not null) foreach (var (key, value) in replace) data.SetTag(key, value);
    }

    /// <summary>
    /// The URL without query, fragment, user info or OData entity keys (<c>/Tokens(PartitionKey='…',RowKey='…')</c>
    /// becomes <c>/Tokens</c>); the same instance when it has none of them.
    /// </summary>
    internal static string SafeUrl(string url)
    {
        var cut = url.IndexOfAny(['?', '#', '(']);
        var trimmed = cut >= 0 ? url[..cut] : url;
        var scheme = trimmed.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            var at = trimmed.IndexOf('@', scheme + 3);
            var slash = trimmed.IndexOf('/', scheme + 3);
            if (at >= 0 && (slash < 0 || at < slash)) trimmed = trimmed[..(scheme + 3)] + trimmed[(at + 1)..];
        }
        return trimmed.Length == url.Length ? url : trimmed;
    }
}
