using System.ComponentModel.DataAnnotations;

namespace Okap.Core;

/// <summary>Vault-wide settings, bound from the <c>Okap</c> configuration section.</summary>
public sealed class VaultOptions
{
    public const string Section = "Okap";

    /// <summary>The vault's public root URL, e.g. <c>https://vault.example.com</c>. Token <c>base_url</c>s and links are built from it, never from a request's Host header.</summary>
    [Required, Url]
    public string PublicUrl { get; set; } = "http://localhost:5080";

    /// <summary>How long a pending request waits for its owner before it expires.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "7.00:00:00")]
    public TimeSpan PendingRequestLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long <c>POST /okap/request</c> holds the call open waiting for the person (the Python SDK times out at 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan DecisionWait { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>
    /// How long after the owner approves an SDK-shape request a repeated identical request (same app, grants and client
    /// address) may pick its token up; zero: only the held call receives it. The Python SDK holds no secret to prove it is
    /// the requester, so this window, one pick-up and the address are all that bind the token to it (docs/security.md).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan SdkPickupWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest wait a poll of <c>/okap/authorize/{id}</c> may ask for.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan MaxPollWait { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>How often a waiting call re-reads the shared store.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan DecisionPollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Lifetime of a token whose request named no expiry.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan DefaultTokenLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Longest lifetime any token may have.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00")]
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromDays(366);

    /// <summary>Lifetime of a personal access key created without one (<c>Okap:DefaultAccessKeyLifetime</c>).</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan DefaultAccessKeyLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Longest lifetime a personal access key may have (<c>Okap:MaxAccessKeyLifetime</c>): a leaked key stops working by then at the latest.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan MaxAccessKeyLifetime { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Addressing of per-person vaults in a multi-user deployment.</summary>
    public AddressingOptions Addressing { get; set; } = new();

    /// <summary>The proxy's own origin (<c>Okap:Proxy:PublicUrl</c>), when it has one.</summary>
    public ProxyOriginOptions Proxy { get; set; } = new();
}

/// <summary>
/// Per-person vault addresses. The Python SDK joins <c>/okap/request</c> onto the vault URL as an absolute path,
/// so only the host survives: each owner's vault is <c>https://{slug}.{BaseDomain}</c>.
/// </summary>
public sealed class AddressingOptions
{
    /// <summary>Base domain under which each owner has a host name, e.g. <c>vault.example.com</c>; empty for a single-user vault.</summary>
    public string? BaseDomain { get; set; }

    /// <summary>Owner slug used when a request arrives on a host that names no owner; empty means: the only owner, if exactly one exists.</summary>
    public string? DefaultOwnerSlug { get; set; }
}
