using System.Net;
using System.Text.Json.Nodes;
using Okap.Testing;

namespace Okap.Server.Tests;

/// <summary>
/// <c>/okap/ready</c> (the edge's health probe) says whether the store and the secret store answer, and nothing more;
/// <c>/okap/health</c> (liveness) stays up whatever the stores do.
/// </summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    private readonly string _azuriteFolder = Path.Combine(Path.GetTempPath(), "okap-azurite-" + Guid.NewGuid().ToString("N"));
    private AzuriteProcess? _azurite;
    private VaultFactory _vault = new();

    public async Task InitializeAsync()
    {
        if (VaultFactory.OnAzure)
        {
            _azurite = await AzuriteProcess.StartAsync(_azuriteFolder);
            _vault = new VaultFactory { OwnAzurite = _azurite };
            _vault.Settings["Okap:Azure:TableMaxRetries"] = "0";
            // Stopped, Azurite refuses connections at once; the timeout only has to outlast a cold start-up that
            // creates every table on a busy machine (1 s did not, once, in CI).
            _vault.Settings["Okap:Azure:TableNetworkTimeout"] = "00:00:05";
        }
        _vault.Settings["Okap:Http:ReadinessCacheTtl"] = "00:00:00";
        _vault.UseLoopbackKestrel();
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        if (_azurite is not null) await _azurite.DisposeAsync();
        try { Directory.Delete(_azuriteFolder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task<(HttpStatusCode Status, JsonObject Body, string Text)> ReadyAsync()
    {
        var response = await _vault.ClientFor().GetAsync("/okap/ready");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject(), text);
    }

    [Fact]
    public async Task A_running_vault_is_ready_with_both_stores_healthy()
    {
        var (status, body, _) = await ReadyAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready", body["status"]!.GetValue<string>());
        Assert.Equal("healthy", body["checks"]!["store"]!.GetValue<string>());
        Assert.Equal("healthy", body["checks"]!["secret_store"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await _vault.ClientFor().GetAsync("/okap/health")).StatusCode);
    }

    [AzureStoreFact]
    public async Task Storage_or_key_vault_down_makes_the_vault_not_ready_without_saying_why_and_it_recovers()
    {
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync()).Status);

        await _azurite!.StopAsync();
        var (status, body, text) = await ReadyAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("not_ready", body["status"]!.GetValue<string>());
        Assert.Equal("unhealthy", body["checks"]!["store"]!.GetValue<string>());
        Assert.Equal("healthy", body["checks"]!["secret_store"]!.GetValue<string>());
        // Only statuses: no exception text, address or port of the store.
        Assert.DoesNotContain("Exception", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(_azurite.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        Assert.Equal(["checks", "status"], body.Select(p => p.Key).Order());
        // Liveness does not depend on the stores.
        Assert.Equal(HttpStatusCode.OK, (await _vault.ClientFor().GetAsync("/okap/health")).StatusCode);

        await _azurite.StartAsync();
        _vault.KeyVault.Unreachable = true;
        (status, body, _) = await ReadyAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("healthy", body["checks"]!["store"]!.GetValue<string>());
        Assert.Equal("unhealthy", body["checks"]!["secret_store"]!.GetValue<string>());

        _vault.KeyVault.Unreachable = false;
        (status, body, _) = await ReadyAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready", body["status"]!.GetValue<string>());
    }
}
