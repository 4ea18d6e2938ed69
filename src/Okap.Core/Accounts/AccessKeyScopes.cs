namespace Okap.Core.Accounts;

/// <summary>
/// Scopes of personal access keys. Each admin route names the one it needs (<c>OkapRoutes</c>); creating and revoking
/// access keys and managing the account's sign-in need a browser session and no scope grants them, so a leaked key
/// cannot mint a successor that outlives its revocation.
/// </summary>
public static class AccessKeyScopes
{
    /// <summary>Read-only: listings (access keys' names and expiry included, never a secret), usage, audit, prices, the catalog.</summary>
    public const string Read = "read";
    /// <summary>Approve or deny requests, revoke or narrow tokens.</summary>
    public const string Approve = "approve";
    /// <summary>Master keys and upstreams, auto-approval policies, price overrides.</summary>
    public const string Keys = "keys";

    /// <summary>Every scope, in display order.</summary>
    public static IReadOnlyList<string> All { get; } = [Read, Approve, Keys];

    /// <summary>
    /// What a key from before scopes acts with: everything it could do then, which was every admin route but the
    /// session-only ones (those were never meant for keys). Its missing expiry is kept; the owner is shown both.
    /// </summary>
    public static IReadOnlyList<string> Legacy => All;

    /// <summary>How stale a key's <see cref="PersonalAccessKey.LastUsedAt"/> may get: it is written at most this often, not on every call.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(5);

    /// <summary>Normalises requested scopes (sorted in <see cref="All"/> order, no repeats); null when any is unknown or none is given.</summary>
    public static IReadOnlyList<string>? Parse(IEnumerable<string>? requested)
    {
        if (requested is null) return null;
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scope in requested)
        {
            if (scope is null || !All.Contains(scope)) return null;
            set.Add(scope);
        }
        return set.Count == 0 ? null : All.Where(set.Contains).ToArray();
    }
}
