using Microsoft.Extensions.Options;

namespace Okap.Core.Keys;

/// <summary>
/// Which owners may have the vault call an upstream with a managed identity, bound from <c>Okap:ManagedIdentity</c>.
/// The vault's identity is one identity: without this an owner could aim it at any Azure OpenAI resource it has rights
/// to, including one granted for another owner. Nobody is allowed until the operator says so.
/// </summary>
public sealed class ManagedIdentityGrantOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string Section = "Okap:ManagedIdentity";

    /// <summary>Grants by owner id (<c>Okap:ManagedIdentity:Owners:{ownerId}</c>; the id is shown on the owner's account).</summary>
    public Dictionary<string, ManagedIdentityGrant> Owners { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>What one owner's <c>managed-identity</c> upstreams may use.</summary>
public sealed class ManagedIdentityGrant
{
    /// <summary>
    /// Upstream hosts this owner may use the identity with: an entry starting with a dot matches any host ending in it,
    /// any other entry one host exactly (e.g. <c>alice-openai.openai.azure.com</c>). Required unless
    /// <see cref="ClientId"/> names an identity of the owner's own.
    /// </summary>
    public string[] Hosts { get; set; } = [];

    /// <summary>
    /// Client id of a user-assigned identity given to this owner alone (its role assignments are the owner's resources):
    /// the vault sends this identity instead of its default one. With it and no <see cref="Hosts"/>, any Azure AI host
    /// the proxy allows may be used, since the identity itself reaches only what it was granted.
    /// </summary>
    public string? ClientId { get; set; }
}

/// <summary>Outcome of <see cref="ManagedIdentityGrants.Check"/>: allowed (with the identity to send), or why not.</summary>
/// <param name="Allowed">True when the owner may use a managed identity with the URL.</param>
/// <param name="ClientId">User-assigned identity to send; null sends the vault's default identity.</param>
/// <param name="Reason">Why it is refused, fit to show the owner.</param>
public readonly record struct ManagedIdentityDecision(bool Allowed, string? ClientId, string? Reason);

/// <summary>
/// Checks an owner's managed-identity upstream against <see cref="ManagedIdentityGrantOptions"/>: when the key is set and
/// on every call (after the proxy's key cache), so a grant the operator withdraws from configuration stops being used.
/// </summary>
public sealed class ManagedIdentityGrants(IOptionsMonitor<ManagedIdentityGrantOptions> options)
{
    /// <summary>Whether <paramref name="ownerId"/> may have the vault send a managed identity to <paramref name="baseUrl"/>.</summary>
    public ManagedIdentityDecision Check(string ownerId, string? baseUrl)
    {
        if (!options.CurrentValue.Owners.TryGetValue(ownerId, out var grant))
            return Refuse("the vault's operator has not allowed managed identity for this account (Okap:ManagedIdentity:Owners)");
        if (baseUrl is null || !Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri)) return Refuse("a managed-identity upstream needs a base_url");
        var host = uri.IdnHost;
        // "host." names the same machine as "host" but matches no entry written without the dot: refused, not guessed.
        if (host.EndsWith('.')) return Refuse("the base_url host must not end with a dot");
        if (grant.Hosts.Length == 0) return grant.ClientId is null ? Refuse("no hosts are allowed") : new(true, grant.ClientId, null);
        foreach (var entry in grant.Hosts)
        {
            if (HostMatches(host, entry)) return new(true, grant.ClientId, null);
        }
        return Refuse($"host '{host}' is not one the vault's operator allowed for this account's managed identity");
    }

    /// <summary>Host match for allow-lists: an entry starting with a dot matches any host ending in it, any other entry that one host; case-insensitive.</summary>
    public static bool HostMatches(string host, string entry) =>
        entry.StartsWith('.') ? host.EndsWith(entry, StringComparison.OrdinalIgnoreCase) && host.Length > entry.Length
                              : string.Equals(host, entry, StringComparison.OrdinalIgnoreCase);

    private static ManagedIdentityDecision Refuse(string reason) => new(false, null, reason);
}
