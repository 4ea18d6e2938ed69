using Okap.Core.Requests;
using Okap.Core.Tokens;

namespace Okap.Core.Policies;

/// <summary>Decides whether an auto-approve policy covers a request, and what it then grants.</summary>
public static class PolicyMatcher
{
    /// <summary>The grants the policy would give, or null when it does not cover the request.</summary>
    public static IReadOnlyList<Grant>? Match(AutoApprovePolicy policy, AccessRequest request, DateTimeOffset now)
    {
        if (!policy.Enabled) return null;
        if (policy.AppName is not null && !string.Equals(policy.AppName, request.AppName, StringComparison.OrdinalIgnoreCase)) return null;
        var granted = new List<Grant>(request.Requested.Count);
        foreach (var asked in request.Requested)
        {
            if (!policy.Providers.Contains(asked.Provider, StringComparer.Ordinal)) return null;
            if (!Covers(policy.Models, asked.Models)) return null;
            if (!Covers(policy.Capabilities, asked.Capabilities)) return null;
            var expires = asked.ExpiresAt;
            if (policy.MaxDays is { } days)
            {
                var max = now.AddDays(days);
                if (expires is null || expires > max) expires = max;
            }
            granted.Add(asked with { Limits = GrantRules.Clamp(asked.Limits, policy.MaxLimits), ExpiresAt = expires });
        }
        return granted;
    }

    // A policy restricted to some models covers a request only if it names models, all of them allowed.
    private static bool Covers(IReadOnlyList<string> allowed, IReadOnlyList<string> asked) =>
        allowed.Count == 0 || (asked.Count > 0 && asked.All(a => allowed.Contains(a, StringComparer.Ordinal)));
}
