using System.Diagnostics.Tracing;
using System.Text;
using System.Text.RegularExpressions;
using Azure;
using Azure.Core.Diagnostics;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Time.Testing;
using Okap.Core;
using Okap.Storage.Azure.KeyVault;

using Okap.Testing;

namespace Okap.Storage.Azure.Tests;

public sealed partial class KeyVaultSecretStoreTests
{
    private readonly FakeKeyVault _vault = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-03-01T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private static readonly CancellationToken Ct = CancellationToken.None;

    private KeyVaultSecretStore CreateStore(Action<AzureStorageOptions>? configure = null, Action<SecretClientOptions>? client = null)
    {
        var options = new AzureStorageOptions
        {
            ConnectionString = "unused",
            KeyVaultUri = FakeKeyVault.VaultUri,
            KeyVaultMaxRetries = 3,
            KeyVaultRetryDelay = TimeSpan.FromMilliseconds(5),
            KeyVaultMaxRetryDelay = TimeSpan.FromMilliseconds(50),
        };
        configure?.Invoke(options);
        var clientOptions = KeyVaultSecretStore.CreateClientOptions(options);
        client?.Invoke(clientOptions);
        return new KeyVaultSecretStore(_vault.CreateClient(clientOptions), options, _time);
    }

    [Fact]
    public async Task Set_then_get_round_trips_with_content_type_and_tags_without_owner()
    {
        var store = CreateStore();
        await store.SetAsync("own_alice", "openai", "sk-test-1234567890abcd", Ct);

        Assert.Equal("sk-test-1234567890abcd", await store.GetAsync("own_alice", "openai", Ct));
        var name = KeyVaultSecretStore.SecretName("own_alice", "openai");
        var version = Assert.Single(_vault.Versions(name));
        Assert.Equal(KeyVaultSecretStore.ContentType, version.ContentType);
        Assert.Equal("openai", version.Tags["okap-provider"]);
        Assert.Equal("abcd", version.Tags["okap-last4"]);
        Assert.DoesNotContain(version.Tags, t => t.Value.Contains("own_alice", StringComparison.Ordinal) || t.Key.Contains("owner", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Get_of_missing_key_is_null()
    {
        var store = CreateStore();
        Assert.Null(await store.GetAsync("own_nobody", "anthropic", Ct));
    }

    [Fact]
    public async Task Replace_writes_a_new_version_and_reads_the_latest()
    {
        var store = CreateStore();
        await store.SetAsync("own_a", "openai", "first-key-0001", Ct);
        Assert.Equal("first-key-0001", await store.GetAsync("own_a", "openai", Ct));
        await store.SetAsync("own_a", "openai", "second-key-0002", Ct);

        Assert.Equal("second-key-0002", await store.GetAsync("own_a", "openai", Ct));
        var versions = _vault.Versions(KeyVaultSecretStore.SecretName("own_a", "openai"));
        Assert.Equal(["first-key-0001", "second-key-0002"], versions.Select(v => v.Value));
        Assert.Equal(2, versions.Select(v => v.Version).Distinct().Count());
    }

    [Fact]
    public async Task Keys_are_separate_per_owner_and_provider()
    {
        var store = CreateStore();
        await store.SetAsync("own_a", "openai", "a-openai", Ct);
        await store.SetAsync("own_a", "anthropic", "a-anthropic", Ct);
        await store.SetAsync("own_b", "openai", "b-openai", Ct);

        Assert.Equal("a-openai", await store.GetAsync("own_a", "openai", Ct));
        Assert.Equal("a-anthropic", await store.GetAsync("own_a", "anthropic", Ct));
        Assert.Equal("b-openai", await store.GetAsync("own_b", "openai", Ct));
        Assert.Equal(3, _vault.ActiveNames.Count);
    }

    [Fact]
    public async Task Delete_soft_deletes_and_get_returns_null()
    {
        var store = CreateStore();
        await store.SetAsync("own_a", "openai", "key-to-delete", Ct);
        await store.DeleteAsync("own_a", "openai", Ct);

        Assert.True(_vault.IsDeleted(KeyVaultSecretStore.SecretName("own_a", "openai")));
        Assert.Null(await store.GetAsync("own_a", "openai", Ct));
        await store.DeleteAsync("own_a", "openai", Ct); // idempotent
        await store.DeleteAsync("own_never", "openai", Ct);
    }

    [Fact]
    public async Task Re_adding_after_soft_delete_recovers_then_sets_a_new_version_under_purge_protection()
    {
        _vault.PurgeProtection = true;
        var store = CreateStore();
        await store.SetAsync("own_a", "openai", "old-key-1111", Ct);
        await store.DeleteAsync("own_a", "openai", Ct);

        await store.SetAsync("own_a", "openai", "new-key-2222", Ct);

        var name = KeyVaultSecretStore.SecretName("own_a", "openai");
        Assert.False(_vault.IsDeleted(name));
        Assert.Equal("new-key-2222", await store.GetAsync("own_a", "openai", Ct));
        Assert.Equal(["old-key-1111", "new-key-2222"], _vault.Versions(name).Select(v => v.Value));
        Assert.Equal(1, _vault.Count("POST", "/deletedsecrets/" + name + "/recover"));
        Assert.Equal(0, _vault.Count("DELETE", "/deletedsecrets/"));
    }

    [Fact]
    public async Task Fake_refuses_purge_under_purge_protection_and_allows_it_otherwise()
    {
        var client = _vault.CreateClient(KeyVaultSecretStore.CreateClientOptions(new AzureStorageOptions()));
        await client.SetSecretAsync("plain", "v");
        await (await client.StartDeleteSecretAsync("plain")).WaitForCompletionAsync();
        var deleted = await client.GetDeletedSecretAsync("plain");
        Assert.Equal(new Uri(FakeKeyVault.VaultUri + "deletedsecrets/plain"), deleted.Value.RecoveryId);

        _vault.PurgeProtection = true;
        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => client.PurgeDeletedSecretAsync("plain"));
        Assert.Equal(403, refused.Status);
        var conflict = await Assert.ThrowsAsync<RequestFailedException>(() => client.SetSecretAsync("plain", "v2"));
        Assert.Equal(409, conflict.Status);

        _vault.PurgeProtection = false;
        await client.PurgeDeletedSecretAsync("plain");
        await client.SetSecretAsync("plain", "v3");
        Assert.Equal("v3", (await client.GetSecretAsync("plain")).Value.Value);

        var listed = new List<string>();
        await foreach (var p in client.GetPropertiesOfSecretsAsync()) listed.Add(p.Name);
        Assert.Contains("plain", listed);
        var notFound = await Assert.ThrowsAsync<RequestFailedException>(() => client.GetSecretAsync("missing"));
        Assert.Equal("SecretNotFound", notFound.ErrorCode);
    }

    [Fact]
    public async Task Reads_are_cached_until_the_ttl_and_invalidated_by_set_and_delete()
    {
        var store = CreateStore(o => o.SecretCacheTtl = TimeSpan.FromMinutes(5));
        var name = KeyVaultSecretStore.SecretName("own_a", "openai");
        await store.SetAsync("own_a", "openai", "cached-key", Ct);

        Assert.Equal("cached-key", await store.GetAsync("own_a", "openai", Ct));
        Assert.Equal("cached-key", await store.GetAsync("own_a", "openai", Ct));
        Assert.Equal(1, _vault.Count("GET", "/secrets/" + name));

        _time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal("cached-key", await store.GetAsync("own_a", "openai", Ct));
        Assert.Equal(2, _vault.Count("GET", "/secrets/" + name));

        await store.SetAsync("own_a", "openai", "changed-key", Ct);
        Assert.Equal("changed-key", await store.GetAsync("own_a", "openai", Ct));
        Assert.Equal(3, _vault.Count("GET", "/secrets/" + name));

        await store.DeleteAsync("own_a", "openai", Ct);
        Assert.Null(await store.GetAsync("own_a", "openai", Ct));
    }

    [Fact]
    public async Task Throttling_429_is_retried_with_back_off_honouring_retry_after()
    {
        var store = CreateStore();
        await store.SetAsync("own_a", "openai", "throttled-key", Ct);
        _vault.ThrottleNext = 2;
        _vault.RetryAfterSeconds = 1;
        var started = DateTime.UtcNow;

        Assert.Equal("throttled-key", await store.GetAsync("own_a", "openai", Ct));

        Assert.Equal(2, _vault.Throttled);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1.8), "Retry-After: 1 s must be honoured twice.");
        Assert.Equal(3, _vault.Count("GET", "/secrets/" + KeyVaultSecretStore.SecretName("own_a", "openai")));
    }

    [Fact]
    public async Task Persistent_throttling_beyond_retries_fails_closed()
    {
        var store = CreateStore(o => o.KeyVaultMaxRetries = 1);
        _vault.ThrottleNext = 10;
        await Assert.ThrowsAsync<VaultUnavailableException>(() => store.GetAsync("own_a", "openai", Ct));
    }

    [Fact]
    public async Task Unreachable_without_cache_throws_vault_unavailable_without_secret_in_message()
    {
        var store = CreateStore();
        await store.SetAsync("own_a", "openai", "sk-unreachable-secret", Ct);
        store.ClearCache();
        _vault.Unreachable = true;

        var e = await Assert.ThrowsAsync<VaultUnavailableException>(() => store.GetAsync("own_a", "openai", Ct));
        Assert.DoesNotContain("sk-unreachable-secret", e.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAsync<VaultUnavailableException>(() => store.SetAsync("own_a", "openai", "sk-other-secret", Ct));
    }

    [Fact]
    public async Task Unreachable_with_a_cached_key_serves_it_until_the_stale_limit()
    {
        var store = CreateStore(o =>
        {
            o.SecretCacheTtl = TimeSpan.FromMinutes(5);
            o.SecretStaleIfErrorTtl = TimeSpan.FromMinutes(10);
        });
        await store.SetAsync("own_a", "openai", "stale-ok", Ct);
        Assert.Equal("stale-ok", await store.GetAsync("own_a", "openai", Ct));
        _vault.Unreachable = true;

        _time.Advance(TimeSpan.FromMinutes(7));
        Assert.Equal("stale-ok", await store.GetAsync("own_a", "openai", Ct));

        _time.Advance(TimeSpan.FromMinutes(10));
        await Assert.ThrowsAsync<VaultUnavailableException>(() => store.GetAsync("own_a", "openai", Ct));
    }

    [Fact]
    public async Task Challenge_is_answered_with_a_token_for_the_vault_resource()
    {
        var credential = new FakeKeyVault.FakeCredential();
        var options = KeyVaultSecretStore.CreateClientOptions(new AzureStorageOptions());
        options.Transport = new global::Azure.Core.Pipeline.HttpClientTransport(_vault);
        var client = new SecretClient(new Uri(FakeKeyVault.VaultUri), credential, options);
        await client.SetSecretAsync("challenge-check", "v");
        Assert.Contains("https://vault.azure.net/.default", credential.Scopes);
    }

    [Theory]
    [InlineData("own_alice", "openai")]
    [InlineData("a", "b")]
    [InlineData("owner with spaces/and#odd?chars~é", "ollama")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789", "google")]
    public void Secret_names_are_valid_opaque_and_stable(string owner, string provider)
    {
        var name = KeyVaultSecretStore.SecretName(owner, provider);
        Assert.Matches(NamePattern(), name);
        Assert.InRange(name.Length, 1, 127);
        Assert.True(name.Length - "okap-".Length >= 32);
        Assert.Matches("^okap-[0-9a-f]{64}$", name); // nothing but a digest: neither owner nor provider shows
        if (owner.Length >= 6) Assert.DoesNotContain(owner, name, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(name, KeyVaultSecretStore.SecretName(owner, provider));
    }

    [Fact]
    public void Secret_names_do_not_collide_on_ambiguous_splits()
    {
        var names = new[]
        {
            KeyVaultSecretStore.SecretName("ab", "c"),
            KeyVaultSecretStore.SecretName("a", "bc"),
            KeyVaultSecretStore.SecretName("a\nb", "c"),
            KeyVaultSecretStore.SecretName("a", "b\nc"),
            KeyVaultSecretStore.SecretName("A", "bc"),
        };
        Assert.Equal(names.Length, names.Distinct().Count());
    }

    [Fact]
    public void Client_options_turn_content_logging_off()
    {
        var options = KeyVaultSecretStore.CreateClientOptions(new AzureStorageOptions());
        Assert.False(options.Diagnostics.IsLoggingContentEnabled);
        Assert.Equal(global::Azure.Core.RetryMode.Exponential, options.Retry.Mode);
    }

    [Fact]
    public async Task No_secret_value_reaches_the_azure_sdk_logs()
    {
        const string secret = "sk-log-canary-7d3f9a1b2c";
        var logs = await CaptureLogsAsync(CreateStore(), secret);

        Assert.Contains("okap-", logs, StringComparison.Ordinal); // the listener did capture the calls
        AssertAbsent(secret, logs);
    }

    [Fact]
    public async Task Log_capture_would_see_the_secret_if_content_logging_were_on()
    {
        const string secret = "sk-control-canary-55aa";
        var logs = await CaptureLogsAsync(CreateStore(client: o =>
        {
            o.Diagnostics.IsLoggingContentEnabled = true;
            o.Diagnostics.LoggedContentSizeLimit = 4096;
        }), secret);
        Assert.True(Contains(secret, logs), "Control: with content logging on, the captured logs hold the secret, so the capture works.");
    }

    private static async Task<string> CaptureLogsAsync(KeyVaultSecretStore store, string secret)
    {
        var captured = new StringBuilder();
        using (new AzureEventSourceListener((e, message) =>
        {
            lock (captured)
            {
                captured.AppendLine(message);
                if (e.Payload is null) return;
                foreach (var item in e.Payload)
                {
                    captured.AppendLine(item is byte[] bytes ? Convert.ToHexString(bytes) + " " + Encoding.UTF8.GetString(bytes) : item?.ToString());
                }
            }
        }, EventLevel.Verbose))
        {
            await store.SetAsync("own_log", "openai", secret, Ct);
            store.ClearCache();
            Assert.Equal(secret, await store.GetAsync("own_log", "openai", Ct));
        }
        lock (captured) return captured.ToString();
    }

    private static bool Contains(string secret, string logs) =>
        logs.Contains(secret, StringComparison.Ordinal)
        || logs.Contains(Convert.ToHexString(Encoding.UTF8.GetBytes(secret)), StringComparison.OrdinalIgnoreCase)
        || logs.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)), StringComparison.Ordinal);

    private static void AssertAbsent(string secret, string logs) => Assert.False(Contains(secret, logs), "A secret value reached the Azure SDK logs.");

    [GeneratedRegex("^[0-9a-zA-Z-]+$")]
    private static partial Regex NamePattern();
}
