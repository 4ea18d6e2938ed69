namespace Okap.Core.Requests;

/// <summary>What a search of past access requests matches: the same rule in every store.</summary>
public static class RequestSearch
{
    /// <summary>The longest search text accepted.</summary>
    public const int MaxTextLength = 200;

    /// <summary>True when the request's app name or one of its requested providers holds <paramref name="text"/>, in any case.</summary>
    public static bool Matches(AccessRequest request, string text)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(text);
        return request.AppName.Contains(text, StringComparison.OrdinalIgnoreCase)
            || request.Requested.Any(g => g.Provider.Contains(text, StringComparison.OrdinalIgnoreCase));
    }
}
