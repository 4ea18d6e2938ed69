namespace Okap.Core.Accounts;

/// <summary>
/// Finds whose vault a public OKAP request is for. With a base domain, the owner is named by the host
/// (<c>{slug}.{BaseDomain}</c>), which survives the Python SDK's absolute-path URL joining; without one
/// the vault is single-user.
/// </summary>
public sealed class OwnerResolver(IOwnerStore owners, Microsoft.Extensions.Options.IOptions<VaultOptions> options)
{
    public async Task<Owner?> ResolveAsync(string? host, CancellationToken ct)
    {
        var addressing = options.Value.Addressing;
        var baseDomain = addressing.BaseDomain?.Trim().TrimEnd('.').ToLowerInvariant();
        // "alice.vault.example.com." is alice's host, written fully qualified: it must not fall through to the default owner.
        var hostName = host is [.., '.'] ? host[..^1].ToLowerInvariant() : host?.ToLowerInvariant();
        if (!string.IsNullOrEmpty(baseDomain) && hostName is not null && hostName.EndsWith("." + baseDomain, StringComparison.Ordinal))
        {
            var label = hostName[..^(baseDomain.Length + 1)];
            return label.Contains('.') ? null : await owners.FindOwnerBySlugAsync(label, ct);
        }
        if (!string.IsNullOrEmpty(addressing.DefaultOwnerSlug)) return await owners.FindOwnerBySlugAsync(addressing.DefaultOwnerSlug, ct);
        if (!string.IsNullOrEmpty(baseDomain)) return null;
        var all = await owners.ListOwnersAsync(2, ct);
        return all.Count == 1 ? all[0] : null;
    }

    /// <summary>The address an owner's apps use as their OKAP vault URL.</summary>
    public string VaultAddressFor(Owner owner)
    {
        var opts = options.Value;
        var publicUri = new Uri(opts.PublicUrl);
        if (string.IsNullOrEmpty(opts.Addressing.BaseDomain)) return publicUri.GetLeftPart(UriPartial.Authority);
        var port = publicUri.IsDefaultPort ? "" : ":" + publicUri.Port;
        return $"{publicUri.Scheme}://{owner.Slug}.{opts.Addressing.BaseDomain.Trim().TrimEnd('.')}{port}";
    }
}
