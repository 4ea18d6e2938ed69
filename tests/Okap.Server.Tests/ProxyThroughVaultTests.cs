using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Core.Diagnostics;
using Okap.Testing;
using Xunit.Abstractions;

namespace Okap.Server.Tests;

/// <summary>The proxy inside the whole vault (real stores, admin API, flush), on SQLite and, with OKAP_TEST_STORE=azure, on Azurite.</summary>
public sealed class ProxyThroughVaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly VaultFactory _vault = new();
    private readonly FakeProvider _fake = new();

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        _vault.Settings["Okap:Proxy:FlushInterval"] = "00:00:00.500";
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        await _fake.DisposeAsync();
    }

    private async Task<(HttpClient Owner, string Token, string TokenId)> TokenAsync(object? limits = null)
    {
        var owner = await _vault.SignUpAsync("alice");
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-first-master-key-0001" })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk(limits: limits ?? new { monthly_spend = 10.0 }))).JsonAsync();
        var tokenId = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();
        return (owner, granted["token"]!["token"]!.GetValue<string>(), tokenId);
    }

    private async Task<HttpResponseMessage> ChatAsync(string token)
    {
        using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "100,50");
        return await _vault.CreateClient().SendAsync(call);
    }

    /// <summary>
    /// Issue budget: at steady state the proxy makes at most 0.1 storage transactions per call (token and key
    /// lookups cached, counters flushed in batches). Counted on the wire to Azurite: every Table request whose URL
    /// names this vault's tables.
    /// </summary>
    [AzureStoreFact]
    public async Task Steady_state_proxied_calls_cost_at_most_a_tenth_of_a_table_transaction_each()
    {
        var (_, token, _) = await TokenAsync(new { monthly_spend = 100.0, requests_per_minute = 100000 });
        for (var i = 0; i < 20; i++) Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token)).StatusCode);
        await Task.Delay(1200);

        var requests = new ConcurrentQueue<string>();
        using (var listener = new AzureEventSourceListener((e, _) =>
        {
            // Azure.Core's "Request" event carries (requestId, method, uri, headers, client assembly).
            if (e.EventName == "Request" && e.Payload?.OfType<string>().FirstOrDefault(p => p.Contains(_vault.TablePrefix, StringComparison.Ordinal)) is { } uri)
            {
                requests.Enqueue(uri);
            }
        }, EventLevel.Informational))
        {
            const int calls = 400;
            var started = DateTime.UtcNow;
            await Parallel.ForEachAsync(Enumerable.Range(0, calls), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, _) =>
                Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token)).StatusCode));
            await Task.Delay(1200); // one more flush
            var perCall = (double)requests.Count / calls;
            output.WriteLine($"{calls} calls in {(DateTime.UtcNow - started).TotalSeconds:0.0} s: {requests.Count} table transactions, {perCall:0.000} per call");
            Assert.True(perCall <= 0.1, $"{perCall:0.000} table transactions per call:\n{string.Join('\n', requests)}");
        }
    }
}
