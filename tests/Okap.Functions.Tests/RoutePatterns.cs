using System.Text.RegularExpressions;

namespace Okap.Functions.Tests;

/// <summary>Brings an ASP.NET Core pattern and a Functions route to one comparable form.</summary>
public static partial class RoutePatterns
{
    /// <summary>Every method a function declares for a route the server maps without a method restriction.</summary>
    public static readonly IReadOnlyList<string> AnyMethod = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    /// <summary>
    /// <c>/</c>-rooted; <c>{**x}</c> and <c>{*x}</c> both become <c>{*x}</c>; an optional parameter limited to
    /// <c>maxlength(0)</c> (how a function serves the site root, since the Functions host never matches an empty route)
    /// matches nothing, so it is dropped.
    /// </summary>
    public static string Normalise(string pattern)
    {
        var segments = pattern.Trim().Trim('/').Split('/')
            .Select(s => CatchAll().Replace(s, "{*$1}"))
            .Where(s => !EmptyOnly().IsMatch(s));
        return "/" + string.Join('/', segments);
    }

    [GeneratedRegex(@"^\{\*{1,2}([^}]+)\}$")]
    private static partial Regex CatchAll();

    [GeneratedRegex(@"^\{[^}:]+:maxlength\(0\)\?\}$")]
    private static partial Regex EmptyOnly();
}
