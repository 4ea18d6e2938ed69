using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Okap.Testing;

namespace Okap.Server.Tests;

/// <summary>Table Storage going away under a running vault: the proxy refuses (fail closed) and nothing is lost.</summary>
public sealed class StorageOutageTests : IAsyncLifetime
{
    private readonly string _azuriteFolder = Path.Combine(Path.GetTempPath(), "okap-azurite-" + Guid.NewGuid().ToString("N"));
    private readonly FakeProvider _fake = new();
    private AzuriteProcess? _azurite;
    private VaultFactory? _vault;

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        if (!VaultFactory.OnAzure) return;
        _azurite = await AzuriteProcess.StartAsync(_azuriteFolder);
        _vault = new VaultFactory { OwnAzurite = _azurite };
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        _vault.Settings["Okap:Proxy:FlushInterval"] = "00:00:00.300";
        _vault.Settings["Okap:Proxy:StoreTimeout"] = "00:00:02";
        _vault.Settings["Okap:Azure:TableMaxRetries"] = "0";
        _vault.Settings["Okap:Azure:TableNetworkTimeout"] = "00:00:01";
    }

    public async Task DisposeAsync()
    {
        _vault?.Dispose();
        if (_azurite is not null) await _azurite.DisposeAsync();
        await _fake.DisposeAsync();
        try { Directory.Delete(_azuriteFolder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task<HttpStatusCode> ChatAsync(string token, Action<HttpResponseMessage>? inspect = null)
    {
        using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "10,5");
        var response = await _vault!.CreateClient().SendAsync(call);
        inspect?.Invoke(response);
        return response.StatusCode;
    }

    [AzureStoreFact]
    public async Task Proxy_refuses_with_503_while_storage_is_down_and_no_usage_is_lost_once_it_is_back()
    {
        var owner = await _vault!.SignUpAsync("alice");
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-outage-master-key-0001" })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var token = (await (await _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk())).JsonAsync())["token"]!["token"]!.GetValue<string>();
        var tokenId = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();

        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, await ChatAsync(token));
        await _azurite!.StopAsync();
        await Task.Delay(1200); // past the token cache's 1 s: the vault must ask storage again

        var forwardedBefore = _fake.Seen.Count;
        JsonObject? error = null;
        var status = await ChatAsync(token, r => error = JsonNode.Parse(r.Content.ReadAsStringAsync().GetAwaiter().GetResult())!.AsObject());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("vault_unavailable", error!["error"]!["type"]!.GetValue<string>());
        Assert.Equal(forwardedBefore, _fake.Seen.Count);

        await _azurite.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await ChatAsync(token) != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "vault did not recover after storage came back");
            await Task.Delay(200);
        }
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.OK, await ChatAsync(token));

        // Every call that went through is counted: 5 before, 1 on recovery, 4 after.
        long requests = 0;
        for (var i = 0; i < 100 && requests < 10; i++)
        {
            await Task.Delay(200);
            var rows = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/usage"))!["rows"]!.AsArray();
            requests = rows.Where(r => r!["token_id"]!.GetValue<string>() == tokenId).Sum(r => r!["requests"]!.GetValue<long>());
        }
        Assert.Equal(10, requests);
        Assert.Equal(10, _fake.Seen.Count(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));
    }
}
