using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Keys;
using Okap.Core.Pricing;
using Okap.Core.Providers;
using Okap.Protocol;

namespace Okap.Proxy;

/// <summary>Where and how one owner's calls to one provider go.</summary>
/// <param name="BaseUrl">Upstream base URL (no trailing slash).</param>
/// <param name="AuthHeader">Header that carries the credential, null for none.</param>
/// <param name="AuthValue">Header value (e.g. <c>Bearer …</c>); null with managed identity (fetched per call from the token source).</param>
/// <param name="ManagedIdentity">True to send the vault's managed identity token as a bearer token.</param>
/// <param name="OwnerDefined">The base URL is the owner's own: connections to it may not reach private networks (see <see cref="UpstreamClient"/>).</param>
/// <param name="ManagedIdentityClientId">With <paramref name="ManagedIdentity"/>: the user-assigned identity granted to this owner; null sends the vault's default one.</param>
internal sealed record UpstreamTarget(string BaseUrl, string? AuthHeader, string? AuthValue, bool ManagedIdentity, bool OwnerDefined = false, string? ManagedIdentityClientId = null)
{
    // AuthValue is the master key: a record's generated ToString would print it.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("BaseUrl = ").Append(BaseUrl).Append(", AuthHeader = ").Append(AuthHeader).Append(", ManagedIdentity = ").Append(ManagedIdentity);
        return true;
    }
}

/// <summary>Outcome of resolving an upstream: a target, or an error to answer with.</summary>
internal readonly record struct UpstreamResolution(UpstreamTarget? Target, int Status, string? ErrorType, string? Message);

/// <summary>
/// Resolves and caches (for <see cref="OkapProxyOptions.KeyCacheTtl"/>) each owner's upstream for a provider: base URL
/// (operator configuration, or the owner's own, which must be https unless allowed), and the master key in the
/// provider's own header. Also caches owners' price overrides.
/// </summary>
internal sealed class UpstreamResolver : Okap.Core.Accounts.IOwnerSettingsListener
{
    private readonly ConcurrentDictionary<(string Owner, string Provider), CachedTarget> _targets = new();
    private readonly ConcurrentDictionary<string, CachedPrices> _prices = new(StringComparer.Ordinal);
    private readonly IKeyMetadataStore _keys;
    private readonly ISecretStore _secrets;
    private readonly IPriceOverrideStore _priceStore;
    private readonly TimeProvider _time;
    private readonly OkapProxyOptions _options;
    private readonly ILogger<UpstreamResolver> _logger;
    private readonly ManagedIdentityGrants _managedIdentityGrants;
    private readonly long _ttlTicks;
    private readonly OutageGrace _grace;

    public UpstreamResolver(IKeyMetadataStore keys, ISecretStore secrets, IPriceOverrideStore priceStore, TimeProvider time,
        IOptions<OkapProxyOptions> options, ILogger<UpstreamResolver> logger, ManagedIdentityGrants managedIdentityGrants, OutageGrace grace)
    {
        _managedIdentityGrants = managedIdentityGrants;
        _grace = grace;
        _keys = keys;
        _secrets = secrets;
        _priceStore = priceStore;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _ttlTicks = (long)(_options.KeyCacheTtl.TotalSeconds * time.TimestampFrequency);
    }

    private sealed record CachedTarget(UpstreamResolution Resolution, long ReadAt, long FailedAt = 0);
    private sealed record CachedPrices(IReadOnlyList<PriceOverride> Prices, long ReadAt, long FailedAt = 0);

    public ValueTask<UpstreamResolution> ResolveAsync(string ownerId, ProviderDescriptor provider)
    {
        var hit = _targets.TryGetValue((ownerId, provider.Id), out var c) && Fresh(c.ReadAt, c.FailedAt);
        ProxyTelemetry.CacheLookup("upstream", hit);
        return hit ? new(c!.Resolution) : new(LoadAsync(ownerId, provider));
    }

    public ValueTask<IReadOnlyList<PriceOverride>> PriceOverridesAsync(string ownerId)
    {
        var hit = _prices.TryGetValue(ownerId, out var c) && Fresh(c.ReadAt, c.FailedAt);
        ProxyTelemetry.CacheLookup("prices", hit);
        return hit ? new(c!.Prices) : new(LoadPricesAsync(ownerId));
    }

    /// <summary>Within its TTL, or the store failed a moment ago and the outage grace still covers it.</summary>
    private bool Fresh(long readAt, long failedAt)
    {
        var now = _time.GetTimestamp();
        return now - readAt < _ttlTicks || _grace.SkipStore(readAt, failedAt, now);
    }

    /// <summary>Forgets what is cached for an owner (after a key or price change on this instance).</summary>
    public void Invalidate(string ownerId)
    {
        foreach (var key in _targets.Keys) if (key.Owner == ownerId) _targets.TryRemove(key, out _);
        _prices.TryRemove(ownerId, out _);
    }

    private bool ManagedIdentityAllowed(string baseUrl)
    {
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps && !_options.AllowInsecureOwnerUpstreams) return false;
        var host = uri.IdnHost;
        foreach (var entry in _options.ManagedIdentityHosts)
        {
            if (ManagedIdentityGrants.HostMatches(host, entry)) return true;
        }
        return false;
    }

    void Okap.Core.Accounts.IOwnerSettingsListener.OwnerSettingsChanged(string ownerId) => Invalidate(ownerId);

    private async Task<IReadOnlyList<PriceOverride>> LoadPricesAsync(string ownerId)
    {
        var readAt = _time.GetTimestamp();
        IReadOnlyList<PriceOverride> prices;
        try
        {
            prices = await Guard("prices.list", ct => _priceStore.ListAsync(ownerId, ct)).ConfigureAwait(false);
        }
        catch (VaultUnavailableException) when (_prices.TryGetValue(ownerId, out var known) && _grace.MayServe(known.ReadAt, _time.GetTimestamp()))
        {
            _prices.TryUpdate(ownerId, known with { FailedAt = _time.GetTimestamp() }, known);
            return known.Prices;
        }
        _prices[ownerId] = new CachedPrices(prices, readAt);
        return prices;
    }

    private async Task<UpstreamResolution> LoadAsync(string ownerId, ProviderDescriptor provider)
    {
        var readAt = _time.GetTimestamp();
        UpstreamResolution resolution;
        try
        {
            var info = await Guard("key.get", ct => _keys.GetAsync(ownerId, provider.Id, ct)).ConfigureAwait(false);
            resolution = await BuildAsync(ownerId, provider, info).ConfigureAwait(false);
        }
        catch (VaultUnavailableException) when (_targets.TryGetValue((ownerId, provider.Id), out var known) && _grace.MayServe(known.ReadAt, _time.GetTimestamp()))
        {
            _targets.TryUpdate((ownerId, provider.Id), known with { FailedAt = _time.GetTimestamp() }, known);
            return known.Resolution;
        }
        _targets[(ownerId, provider.Id)] = new CachedTarget(resolution, readAt);
        return resolution;
    }

    private async Task<UpstreamResolution> BuildAsync(string ownerId, ProviderDescriptor provider, MasterKeyInfo? info)
    {
        var resolution = await BuildCoreAsync(ownerId, provider, info).ConfigureAwait(false);
        return resolution.Target is { } target && info?.BaseUrl is { Length: > 0 }
            ? resolution with { Target = target with { OwnerDefined = true } }
            : resolution;
    }

    private async Task<UpstreamResolution> BuildCoreAsync(string ownerId, ProviderDescriptor provider, MasterKeyInfo? info)
    {
        // Base URL: the owner's own (validated), else the operator's configuration, else the built-in default.
        string? baseUrl;
        if (info?.BaseUrl is { Length: > 0 } ownerUrl)
        {
            if (!Uri.TryCreate(ownerUrl, UriKind.Absolute, out var u) || !string.IsNullOrEmpty(u.UserInfo) || !string.IsNullOrEmpty(u.Query) || !string.IsNullOrEmpty(u.Fragment)
                || u.IdnHost.EndsWith('.')
                || !(u.Scheme == Uri.UriSchemeHttps || (u.Scheme == Uri.UriSchemeHttp && _options.AllowInsecureOwnerUpstreams)))
            {
                Log.UpstreamRefused(_logger, provider.Id, "owner base URL must be https (or http when the operator allows it), its host without a trailing dot");
                return Error(502, OkapErrorTypes.UpstreamUnavailable, $"The vault owner's upstream URL for '{provider.Id}' is not allowed (it must be an https URL whose host does not end with a dot).");
            }
            baseUrl = ownerUrl;
        }
        else
        {
            baseUrl = OperatorBaseUrl(_options, provider);
        }
        if (baseUrl is null)
            return Error(403, OkapErrorTypes.NoMasterKey, $"The vault owner has not configured provider '{provider.Id}'.");
        baseUrl = baseUrl.TrimEnd('/');

        var authKind = info?.AuthKind ?? MasterKeyAuthKinds.Key;
        if (authKind == MasterKeyAuthKinds.ManagedIdentity)
        {
            if (!ManagedIdentityAllowed(baseUrl))
            {
                Log.UpstreamRefused(_logger, provider.Id, "managed identity is only sent to the hosts in Okap:Proxy:ManagedIdentityHosts");
                return Error(403, OkapErrorTypes.NoMasterKey,
                    $"The vault's managed identity is only used with Azure OpenAI / AI Foundry endpoints; the owner's upstream for '{provider.Id}' is not one.");
            }
            // Checked again on every call, not only when the key was set: the operator may have withdrawn the grant since.
            var grant = _managedIdentityGrants.Check(ownerId, info?.BaseUrl);
            if (!grant.Allowed)
            {
                Log.UpstreamRefused(_logger, provider.Id, "managed identity not granted to this owner for this host (Okap:ManagedIdentity:Owners)");
                return Error(403, OkapErrorTypes.NoMasterKey,
                    $"The vault's operator has not allowed this vault owner's managed identity for '{provider.Id}' at this upstream: {grant.Reason}.");
            }
            return new UpstreamResolution(new UpstreamTarget(baseUrl, "Authorization", null, true, ManagedIdentityClientId: grant.ClientId ?? _options.ManagedIdentityClientId), 0, null, null);
        }
        if (authKind == MasterKeyAuthKinds.None)
        {
            if (!provider.KeyOptional && info?.BaseUrl is null)
                return Error(403, OkapErrorTypes.NoMasterKey, $"The vault owner has no key for provider '{provider.Id}'.");
            return new UpstreamResolution(new UpstreamTarget(baseUrl, null, null, false), 0, null, null);
        }

        var secret = info is null ? null : await Guard("secret.get", ct => _secrets.GetAsync(ownerId, provider.Id, ct)).ConfigureAwait(false);
        if (string.IsNullOrEmpty(secret))
        {
            if (provider.KeyOptional) return new UpstreamResolution(new UpstreamTarget(baseUrl, null, null, false), 0, null, null);
            return Error(403, OkapErrorTypes.NoMasterKey, $"The vault owner has no key for provider '{provider.Id}'.");
        }
        var (header, value) = CredentialHeader(provider, authKind, secret);
        return new UpstreamResolution(new UpstreamTarget(baseUrl, header, value, false), 0, null, null);
    }

    /// <summary>The operator's configured base URL for a provider, else its built-in default (null for Ollama and owner-defined ids).</summary>
    internal static string? OperatorBaseUrl(OkapProxyOptions options, ProviderDescriptor provider) =>
        options.Providers.TryGetValue(provider.Id, out var configured) && configured.BaseUrl is { Length: > 0 } b ? b : provider.DefaultBaseUrl;

    /// <summary>The header that carries a master key to this provider, and its value.</summary>
    internal static (string Header, string Value) CredentialHeader(ProviderDescriptor provider, string authKind, string secret) =>
        (authKind == MasterKeyAuthKinds.AzureApiKey ? UpstreamAuthStyle.AzureApiKey : provider.Auth) switch
        {
            UpstreamAuthStyle.XApiKey => ("x-api-key", secret),
            UpstreamAuthStyle.XGoogApiKey => ("x-goog-api-key", secret),
            UpstreamAuthStyle.AzureApiKey => ("api-key", secret),
            _ => ("Authorization", "Bearer " + secret),
        };

    private static UpstreamResolution Error(int status, string type, string message) => new(null, status, type, message);

    private async Task<T> Guard<T>(string operation, Func<CancellationToken, Task<T>> call)
    {
        using var cts = new CancellationTokenSource(_options.StoreTimeout, _time);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var result = await call(cts.Token).WaitAsync(_options.StoreTimeout, _time).ConfigureAwait(false);
            ProxyTelemetry.StoreCall(operation, started, null);
            return result;
        }
        catch (Exception ex) when (ProxyTelemetry.StoreFailed(operation, started, ex))
        {
            throw;
        }
        catch (VaultUnavailableException)
        {
            throw;
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            throw new VaultUnavailableException("Store timed out.", ex);
        }
        catch (Exception ex)
        {
            throw new VaultUnavailableException("Store failed.", ex);
        }
    }
}
