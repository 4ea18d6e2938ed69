using Microsoft.Extensions.Options;

namespace Okap.Proxy;

/// <summary>Proxy settings, bound from configuration section <c>Okap:Proxy</c>.</summary>
public sealed class OkapProxyOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Okap:Proxy";

    /// <summary>
    /// Upstream base URLs by provider id (<c>Okap:Proxy:Providers:{id}:BaseUrl</c>). Built-in providers default to their
    /// public API; set an entry to point one elsewhere (tests use fakes on 127.0.0.1) or to give Ollama a default.
    /// </summary>
    public Dictionary<string, ProviderUpstreamOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Let owners set <c>http://</c> upstream base URLs (e.g. a LAN Ollama). Off by default: owner upstreams must be https.</summary>
    public bool AllowInsecureOwnerUpstreams { get; set; }

    /// <summary>
    /// Let owner upstreams resolve to loopback, private or link-local addresses (a LAN Ollama needs this and
    /// <see cref="AllowInsecureOwnerUpstreams"/>). Off by default: in a shared vault an owner could otherwise aim the
    /// vault at its own network or the cloud metadata endpoint.
    /// </summary>
    public bool AllowPrivateOwnerUpstreams { get; set; }

    /// <summary>
    /// Hosts that may receive the vault's own managed-identity token (owners' <c>managed-identity</c> upstreams): an entry
    /// starting with a dot matches any host ending in it, any other entry one host exactly. Defaults to Azure OpenAI /
    /// AI Foundry endpoints, so an owner can never aim the vault's identity at a host of their choosing.
    /// </summary>
    public string[] ManagedIdentityHosts { get; set; } = [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"];

    /// <summary>How long an upstream call may stay idle (no headers, no bytes) before it is cancelled with 504. Default 2 minutes.</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a token lookup is reused; at most 1 second so revocation takes effect within a second everywhere.</summary>
    public TimeSpan TokenCacheTtl { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long master keys, key metadata and price overrides are reused. Default 1 minute.</summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often usage counters and token last-use times are written to the stores. Default 5 seconds.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often in-memory totals are re-read from the store, to see what other instances spent. Default 30 seconds.</summary>
    public TimeSpan UsageRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a store or secret-store call may take before the proxy answers 503. Default 5 seconds.</summary>
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// While the store cannot be reached, how long after this instance last read a token (and its owner's upstream and
    /// prices) it keeps serving that token from what it last read, within the budget leases it already holds; tokens it
    /// has not seen, and calls its leases cannot cover, get 503. A revocation written meanwhile reaches this instance
    /// only when the store is back, so this is also how long a revoked token may still work on an instance cut off from
    /// the store. Default 5 minutes; zero, or <see cref="FailClosedOnStoreOutage"/>, refuses everything at once.
    /// </summary>
    public TimeSpan StoreOutageGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Refuse every call with 503 as soon as the store cannot be reached (no <see cref="StoreOutageGrace"/>). Default off.</summary>
    public bool FailClosedOnStoreOutage { get; set; }

    /// <summary>Largest JSON request body the proxy reads to check model and limits; larger bodies get 413. Default 1 MiB.</summary>
    public long MaxBufferedBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>What happens when a request asks for more output tokens than the grant's <c>tokens_per_request</c>.</summary>
    public TokensPerRequestAction TokensPerRequestAction { get; set; } = TokensPerRequestAction.Refuse;

    /// <summary>Output ceiling assumed for a spend reservation when neither the request nor the price catalog gives one.</summary>
    public int DefaultMaxOutputTokens { get; set; } = 32768;

    /// <summary>
    /// Longest wait a rate-limit refusal still announces with <c>Retry-After</c> (default 2 s, at most 10 s). SDKs sleep
    /// for whatever <c>Retry-After</c> says (the .NET OpenAI SDK without any cap, three times), so a longer wait is
    /// refused with <c>x-should-retry: false</c> and the wait in the message instead of a header that would hang the app.
    /// </summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an instance's share of a grant's spend and rate limits (its budget lease) lasts without renewal; a lease
    /// not renewed in time (the instance died or lost the store) counts as spent. Default 1 minute.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Folder on local disk for usage batches the store would not take at shutdown; the next process on the same
    /// machine writes them. Default: <c>okap-usage-spool</c> in the system temporary folder.
    /// </summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>
    /// How long the store keeps a writer's exactly-once mark after that writer last wrote a usage batch; older marks
    /// (crashed processes, spools another process replayed) are swept in the background every
    /// <see cref="WriterMarkSweepInterval"/>. A batch retried after its mark was swept is written as new, so this must be
    /// longer than any batch can wait (a retry during a store outage, a spool file on a machine that is down).
    /// Default 30 days; at least 1 day.
    /// </summary>
    public TimeSpan WriterMarkRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often each instance sweeps expired writer marks (a bounded query; no request waits for it). Default 1 hour.</summary>
    public TimeSpan WriterMarkSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Client id of a user-assigned managed identity for Azure OpenAI upstreams; null uses the system-assigned identity.</summary>
    public string? ManagedIdentityClientId { get; set; }
}

/// <summary>Upstream settings of one provider.</summary>
public sealed class ProviderUpstreamOptions
{
    /// <summary>Base URL the SDK path is appended to, e.g. <c>https://api.openai.com/v1</c>.</summary>
    public string? BaseUrl { get; set; }
}

/// <summary>What to do with a request whose output ceiling exceeds the grant's <c>tokens_per_request</c>.</summary>
public enum TokensPerRequestAction
{
    /// <summary>Answer 400 <c>tokens_per_request_exceeded</c>.</summary>
    Refuse,
    /// <summary>Lower the ceiling to the limit and forward.</summary>
    Cap,
}

internal sealed class OkapProxyOptionsValidator : IValidateOptions<OkapProxyOptions>
{
    public ValidateOptionsResult Validate(string? name, OkapProxyOptions o)
    {
        var errors = new List<string>();
        foreach (var (id, p) in o.Providers)
        {
            if (!Core.Providers.ProviderCatalog.IsValidId(id)) errors.Add($"Okap:Proxy:Providers: '{id}' is not a valid provider id.");
            if (p.BaseUrl is { } url && !IsValidBaseUrl(url)) errors.Add($"Okap:Proxy:Providers:{id}:BaseUrl must be an absolute http(s) URL without query or fragment.");
        }
        if (o.UpstreamTimeout <= TimeSpan.Zero) errors.Add("Okap:Proxy:UpstreamTimeout must be positive.");
        if (o.TokenCacheTtl <= TimeSpan.Zero || o.TokenCacheTtl > TimeSpan.FromSeconds(1)) errors.Add("Okap:Proxy:TokenCacheTtl must be more than 0 and at most 1 second.");
        if (o.KeyCacheTtl <= TimeSpan.Zero || o.KeyCacheTtl > TimeSpan.FromHours(1)) errors.Add("Okap:Proxy:KeyCacheTtl must be more than 0 and at most 1 hour.");
        if (o.FlushInterval <= TimeSpan.Zero || o.FlushInterval > TimeSpan.FromMinutes(5)) errors.Add("Okap:Proxy:FlushInterval must be more than 0 and at most 5 minutes.");
        if (o.UsageRefreshInterval <= TimeSpan.Zero) errors.Add("Okap:Proxy:UsageRefreshInterval must be positive.");
        if (o.StoreTimeout <= TimeSpan.Zero) errors.Add("Okap:Proxy:StoreTimeout must be positive.");
        if (o.StoreOutageGrace < TimeSpan.Zero || o.StoreOutageGrace > TimeSpan.FromHours(1)) errors.Add("Okap:Proxy:StoreOutageGrace must be between 0 and 1 hour.");
        if (o.LeaseDuration < TimeSpan.FromSeconds(3) || o.LeaseDuration > TimeSpan.FromHours(1)) errors.Add("Okap:Proxy:LeaseDuration must be between 3 seconds and 1 hour.");
        if (o.WriterMarkRetention < TimeSpan.FromDays(1) || o.WriterMarkRetention > TimeSpan.FromDays(3650)) errors.Add("Okap:Proxy:WriterMarkRetention must be between 1 day and 3650 days.");
        if (o.WriterMarkSweepInterval < TimeSpan.FromMinutes(1) || o.WriterMarkSweepInterval > TimeSpan.FromDays(1)) errors.Add("Okap:Proxy:WriterMarkSweepInterval must be between 1 minute and 1 day.");
        if (o.MaxBufferedBodyBytes is < 1024 or > 64 * 1024 * 1024) errors.Add("Okap:Proxy:MaxBufferedBodyBytes must be between 1 KiB and 64 MiB.");
        if (o.DefaultMaxOutputTokens <= 0) errors.Add("Okap:Proxy:DefaultMaxOutputTokens must be positive.");
        if (o.MaxRetryAfter < TimeSpan.Zero || o.MaxRetryAfter > TimeSpan.FromSeconds(10)) errors.Add("Okap:Proxy:MaxRetryAfter must be between 0 and 10 seconds.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static bool IsValidBaseUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp)
        && string.IsNullOrEmpty(u.Query) && string.IsNullOrEmpty(u.Fragment) && string.IsNullOrEmpty(u.UserInfo);
}
