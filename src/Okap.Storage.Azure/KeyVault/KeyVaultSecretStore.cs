using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Security.KeyVault.Secrets;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Storage.Azure.Tables;

namespace Okap.Storage.Azure.KeyVault;

/// <summary>
/// Master keys in Azure Key Vault: one secret per (owner, provider), named by <see cref="SecretName"/>.
/// <list type="bullet">
/// <item>Replacing a key writes a new version of the same secret.</item>
/// <item>Deleting soft-deletes (<c>StartDeleteSecret</c>); the vault may have purge protection, so nothing is purged.</item>
/// <item>Setting a key whose secret is deleted-but-recoverable (409) recovers it, then writes a new version:
/// with purge protection on, purging is impossible, so recover-then-set is the only way that always works.</item>
/// <item>Reads are cached in memory for <see cref="AzureStorageOptions.SecretCacheTtl"/>; set and delete by this
/// instance invalidate the entry. Other instances see a change within the TTL.</item>
/// <item>When Key Vault cannot be reached (network, 5xx, throttling after the SDK's retries, authentication),
/// a stale cached key is served for at most <see cref="AzureStorageOptions.SecretStaleIfErrorTtl"/>;
/// without one, <see cref="VaultUnavailableException"/> is thrown (fail closed).</item>
/// <item>Request and response bodies are never logged (<c>IsLoggingContentEnabled = false</c>), and exception
/// messages built here never contain a key.</item>
/// </list>
/// </summary>
public sealed class KeyVaultSecretStore : ISecretStore
{
    /// <summary>Content type of every master-key secret.</summary>
    public const string ContentType = "application/x-okap-master-key";

    private const string NamePrefix = "okap-";
    private const int MaxSetAttempts = 8;

    private readonly SecretClient _client;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _staleIfError;
    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);

    public KeyVaultSecretStore(SecretClient client, AzureStorageOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _time = time ?? TimeProvider.System;
        _ttl = options.SecretCacheTtl;
        _staleIfError = options.SecretStaleIfErrorTtl;
    }

    /// <summary>A store on <see cref="AzureStorageOptions.KeyVaultUri"/> with the production client options.</summary>
    public static KeyVaultSecretStore Create(AzureStorageOptions options, TokenCredential? credential = null, TimeProvider? time = null)
    {
        if (string.IsNullOrWhiteSpace(options.KeyVaultUri)) throw new InvalidOperationException("KeyVaultUri is not set.");
        var client = new SecretClient(new Uri(options.KeyVaultUri), credential ?? AzureCredentials.Create(options), CreateClientOptions(options));
        return new KeyVaultSecretStore(client, options, time);
    }

    /// <summary>
    /// Client options: exponential retries (429/503 honour <c>Retry-After</c>), a per-attempt network timeout,
    /// and logging without bodies so a secret value never reaches a log, trace or telemetry sink.
    /// </summary>
    public static SecretClientOptions CreateClientOptions(AzureStorageOptions options)
    {
        var clientOptions = new SecretClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.KeyVaultMaxRetries;
        clientOptions.Retry.Delay = options.KeyVaultRetryDelay;
        clientOptions.Retry.MaxDelay = options.KeyVaultMaxRetryDelay;
        clientOptions.Retry.NetworkTimeout = options.KeyVaultNetworkTimeout;
        clientOptions.Diagnostics.IsLoggingContentEnabled = false;
        clientOptions.Diagnostics.LoggedContentSizeLimit = 0;
        return clientOptions;
    }

    /// <summary>
    /// Secret name of an owner's key for a provider: <c>okap-</c> + 64 hex characters of
    /// SHA-256("okap-master-key/v1\n" + len(owner) + ":" + owner + "\n" + provider). Valid for Key Vault
    /// (<c>^[0-9a-zA-Z-]{1,127}$</c>), reveals neither owner nor provider, and length-prefixing keeps it injective.
    /// </summary>
    public static string SecretName(string ownerId, string provider)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentException.ThrowIfNullOrEmpty(provider);
        var input = string.Concat("okap-master-key/v1\n", ownerId.Length.ToString(CultureInfo.InvariantCulture), ":", ownerId, "\n", provider);
        return NamePrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(input)));
    }

    public async Task SetAsync(string ownerId, string provider, string secret, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var name = SecretName(ownerId, provider);
        _cache.TryRemove(name, out _);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await _client.SetSecretAsync(NewSecret(name, provider, secret), ct).ConfigureAwait(false);
                    return;
                }
                catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.Conflict) && attempt + 1 < MaxSetAttempts)
                {
                    // Deleted but recoverable (or still being deleted/recovered): recover the old secret, then write a new version.
                    await TryRecoverAsync(name, ct).ConfigureAwait(false);
                    if (attempt > 0) await Task.Delay(TableOps.Backoff(attempt, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(4)), ct).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (IsUnavailable(e, ct))
        {
            throw Unavailable(e);
        }
        finally
        {
            _cache.TryRemove(name, out _);
        }
    }

    private async Task TryRecoverAsync(string name, CancellationToken ct)
    {
        try
        {
            var operation = await _client.StartRecoverDeletedSecretAsync(name, ct).ConfigureAwait(false);
            await operation.WaitForCompletionAsync(TimeSpan.FromMilliseconds(500), ct).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is (int)HttpStatusCode.NotFound or (int)HttpStatusCode.Conflict)
        {
            // Not (or no longer) in the deleted state, or a deletion still in progress: the caller retries the set.
        }
    }

    public async Task<string?> GetAsync(string ownerId, string provider, CancellationToken ct)
    {
        var name = SecretName(ownerId, provider);
        var now = _time.GetUtcNow();
        _cache.TryGetValue(name, out var cached);
        if (cached is not null && now < cached.FreshUntil) return cached.Value;
        try
        {
            var response = await _client.GetSecretAsync(name, cancellationToken: ct).ConfigureAwait(false);
            var value = response.Value.Value;
            _cache[name] = new CacheEntry(value, now + _ttl, now + _ttl + _staleIfError);
            return value;
        }
        catch (RequestFailedException e) when (e.Status is (int)HttpStatusCode.NotFound or (int)HttpStatusCode.Conflict)
        {
            // 404: never stored or deleted; 409: deleted but recoverable. Either way there is no key.
            _cache.TryRemove(name, out _);
            return null;
        }
        catch (RequestFailedException e) when (e.Status == (int)HttpStatusCode.Forbidden && e.ErrorCode == "Forbidden" && e.Message.Contains("disabled", StringComparison.OrdinalIgnoreCase))
        {
            _cache.TryRemove(name, out _);
            return null;
        }
        catch (Exception e) when (IsUnavailable(e, ct))
        {
            if (cached is not null && _time.GetUtcNow() < cached.StaleUntil) return cached.Value;
            throw Unavailable(e);
        }
    }

    public async Task DeleteAsync(string ownerId, string provider, CancellationToken ct)
    {
        var name = SecretName(ownerId, provider);
        _cache.TryRemove(name, out _);
        try
        {
            await _client.StartDeleteSecretAsync(name, ct).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is (int)HttpStatusCode.NotFound or (int)HttpStatusCode.Conflict)
        {
            // Nothing stored, or already deleted.
        }
        catch (Exception e) when (IsUnavailable(e, ct))
        {
            throw Unavailable(e);
        }
        finally
        {
            _cache.TryRemove(name, out _);
        }
    }

    /// <summary>Drops every cached key of this instance.</summary>
    public void ClearCache() => _cache.Clear();

    private static KeyVaultSecret NewSecret(string name, string provider, string value)
    {
        var secret = new KeyVaultSecret(name, value);
        secret.Properties.ContentType = ContentType;
        secret.Properties.Tags["okap-provider"] = provider;
        secret.Properties.Tags["okap-last4"] = Secrets.Last4(value);
        return secret;
    }

    private static bool IsUnavailable(Exception e, CancellationToken ct) => e switch
    {
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(i => IsUnavailable(i, ct)), // retries exhausted
        RequestFailedException r => r.Status == 0 || r.Status == (int)HttpStatusCode.RequestTimeout || r.Status == (int)HttpStatusCode.TooManyRequests
            || r.Status == (int)HttpStatusCode.Unauthorized || r.Status >= 500,
        global::Azure.Identity.AuthenticationFailedException => true,
        HttpRequestException or IOException or TimeoutException => true,
        OperationCanceledException => !ct.IsCancellationRequested,
        _ => false,
    };

    private static VaultUnavailableException Unavailable(Exception e) =>
        new(e is RequestFailedException r && r.Status != 0 ? $"Key Vault cannot be reached (status {r.Status})." : "Key Vault cannot be reached.", e);

    private sealed record CacheEntry(string Value, DateTimeOffset FreshUntil, DateTimeOffset StaleUntil);
}
