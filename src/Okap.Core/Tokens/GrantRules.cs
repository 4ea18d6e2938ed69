namespace Okap.Core.Tokens;

/// <summary>Rules for narrowing a grant: what an owner or a policy grants is never wider than what was asked.</summary>
public static class GrantRules
{
    /// <summary>Checks that <paramref name="granted"/> is within <paramref name="requested"/>; returns the offending field, or null.</summary>
    public static string? WiderField(Grant requested, Grant granted)
    {
        if (granted.Provider != requested.Provider) return "provider";
        if (!Within(requested.Models, granted.Models)) return "models";
        if (!Within(requested.Capabilities, granted.Capabilities)) return "capabilities";
        if (Wider(requested.Limits.MonthlySpendMicros, granted.Limits.MonthlySpendMicros)) return "limits.monthly_spend";
        if (Wider(requested.Limits.DailySpendMicros, granted.Limits.DailySpendMicros)) return "limits.daily_spend";
        if (Wider(requested.Limits.RequestsPerMinute, granted.Limits.RequestsPerMinute)) return "limits.requests_per_minute";
        if (Wider(requested.Limits.RequestsPerDay, granted.Limits.RequestsPerDay)) return "limits.requests_per_day";
        if (Wider(requested.Limits.TokensPerRequest, granted.Limits.TokensPerRequest)) return "limits.tokens_per_request";
        if (requested.ExpiresAt is { } asked && (granted.ExpiresAt is null || granted.ExpiresAt > asked)) return "expires";
        return null;
    }

    /// <summary>Fills the limits and expiry an owner left out of a narrowed grant with what was requested.</summary>
    public static Grant InheritOmitted(Grant? requested, Grant granted) => requested is null ? granted : granted with
    {
        Limits = new Limits
        {
            MonthlySpendMicros = granted.Limits.MonthlySpendMicros ?? requested.Limits.MonthlySpendMicros,
            DailySpendMicros = granted.Limits.DailySpendMicros ?? requested.Limits.DailySpendMicros,
            RequestsPerMinute = granted.Limits.RequestsPerMinute ?? requested.Limits.RequestsPerMinute,
            RequestsPerDay = granted.Limits.RequestsPerDay ?? requested.Limits.RequestsPerDay,
            TokensPerRequest = granted.Limits.TokensPerRequest ?? requested.Limits.TokensPerRequest,
        },
        ExpiresAt = granted.ExpiresAt ?? requested.ExpiresAt,
    };

    /// <summary>Lowers every limit to <paramref name="caps"/>, filling limits the request left open.</summary>
    public static Limits Clamp(Limits asked, Limits caps) => new()
    {
        MonthlySpendMicros = Min(asked.MonthlySpendMicros, caps.MonthlySpendMicros),
        DailySpendMicros = Min(asked.DailySpendMicros, caps.DailySpendMicros),
        RequestsPerMinute = Min(asked.RequestsPerMinute, caps.RequestsPerMinute),
        RequestsPerDay = Min(asked.RequestsPerDay, caps.RequestsPerDay),
        TokensPerRequest = Min(asked.TokensPerRequest, caps.TokensPerRequest),
    };

    /// <summary>Gives a grant a bounded expiry: the default when none was asked, never beyond the maximum.</summary>
    public static Grant WithBoundedExpiry(Grant grant, DateTimeOffset now, VaultOptions options)
    {
        var max = now + options.MaxTokenLifetime;
        var expires = grant.ExpiresAt ?? now + options.DefaultTokenLifetime;
        return grant with { ExpiresAt = expires > max ? max : expires };
    }

    // An empty list means "all": a grant of "all" is within a request of "all" only.
    private static bool Within(IReadOnlyList<string> requested, IReadOnlyList<string> granted) =>
        requested.Count == 0 || (granted.Count > 0 && granted.All(g => requested.Contains(g, StringComparer.Ordinal)));

    private static bool Wider<T>(T? requested, T? granted) where T : struct, IComparable<T> =>
        requested is { } r && (granted is null || granted.Value.CompareTo(r) > 0);

    private static T? Min<T>(T? a, T? b) where T : struct, IComparable<T> =>
        a is null ? b : b is null ? a : a.Value.CompareTo(b.Value) <= 0 ? a : b;
}
