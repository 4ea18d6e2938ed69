using System.Globalization;

namespace Okap.Client;

/// <summary>How secrets look in descriptions: absent.</summary>
internal static class Redaction
{
    public const string Hidden = "[redacted]";

    /// <summary>A URL without its query (where poll handles travel).</summary>
    public static string Url(Uri url) =>
        url.IsAbsoluteUri ? url.GetLeftPart(UriPartial.Path) + (string.IsNullOrEmpty(url.Query) ? "" : "?" + Hidden) : Hidden;

    public static string Time(DateTimeOffset? at) => at?.ToString("O", CultureInfo.InvariantCulture) ?? "none";
}
