using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Azure.Core.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Okap.Proxy;
using Okap.Testing;
using Xunit.Abstractions;

namespace Okap.Server.Tests;

/// <summary>The proxy inside the whole vault (real stores, admin API, flush), on SQLite and, with OKAP_TEST_STORE=azure, on Azurite.</summary>
public sealed class ProxyThroughVaultTests : IAsyncLifetime
{
    // Virtual time: the per-second and per-flush costs are counted over the same stretch of time however slow the machine.
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero));
    private readonly VaultFactory _vault;

    private readonly ITestOutputHelper _output;

    public ProxyThroughVaultTests(ITestOutputHelper output)
    {
        _output = output;
        _vault = new VaultFactory { Time = _clock };
    }
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
    /// lookups cached, counters flushed in batches, spend and rate limits served from a budget lease). Counted on the
    /// wire to Azurite: every Table request whose URL names this vault's tables, over 400 calls at 200 calls per second
    /// of virtual time (a <see cref="FakeTimeProvider"/> drives the token cache, the flush timer, lease renewals and the
    /// per-minute buckets), so a busy machine cannot stretch the once-a-second costs over more seconds.
    /// </summary>
    [AzureStoreFact]
    public async Task Steady_state_proxied_calls_cost_at_most_a_tenth_of_a_table_transaction_each()
    {
        const int parallel = 8;
        var step = TimeSpan.FromMilliseconds(1000.0 * parallel / 200); // 200 calls per virtual second
        var (_, token, _) = await TokenAsync(new { monthly_spend = 100.0, requests_per_minute = 100000 });
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token)).StatusCode);
            _clock.Advance(TimeSpan.FromMilliseconds(50));
        }
        await SettleAsync(TimeSpan.FromSeconds(1.2));

        var requests = new ConcurrentQueue<string>();
        using (var listener = new AzureEventSourceListener((e, _) =>
        {
            // Azure.Core's "Request" event carries (requestId, method, uri, headers, client assembly).
            if (e.EventName == "Request" && e.Payload?.OfType<string>().FirstOrDefault(p => p.Contains(_vault.TablePrefix, StringComparison.Ordinal)) is { } uri)
            {
                requests.Enqueue(uri);
                Interlocked.Increment(ref _tableRequests);
            }
        }, EventLevel.Informational))
        {
            const int calls = 400;
            var started = DateTime.UtcNow;
            for (var round = 0; round < calls / parallel; round++)
            {
                await Task.WhenAll(Enumerable.Range(0, parallel).Select(async _ => Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token)).StatusCode)));
                _clock.Advance(step);
            }
            await SettleAsync(TimeSpan.FromSeconds(1.2)); // one more flush
            var perCall = (double)requests.Count / calls;
            var kinds = requests.GroupBy(Kind).OrderByDescending(g => g.Count()).Select(g => $"{g.Count()} {g.Key}");
            _output.WriteLine($"{calls} calls in {(DateTime.UtcNow - started).TotalSeconds:0.0} s ({calls / 200.0:0.0} s virtual): {requests.Count} table transactions, {perCall:0.000} per call ({string.Join(", ", kinds)})");
            Assert.True(perCall <= 0.1, $"{perCall:0.000} table transactions per call:\n{string.Join('\n', requests)}");
        }
    }

    /// <summary>
    /// Advances virtual time by <paramref name="by"/> in steps of half a flush interval and, after each, waits until the
    /// work the flush timer started (flush, lease upkeep, usage refreshes) is done.
    /// </summary>
    private async Task SettleAsync(TimeSpan by)
    {
        var flush = _vault.Services.GetRequiredService<UsageFlushService>();
        for (var left = by; left > TimeSpan.Zero; left -= TimeSpan.FromMilliseconds(250))
        {
            _clock.Advance(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250));
            await flush.TicksDoneAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private int _tableRequests;

    /// <summary>What a table request was for: its table and the kind of row (lease, writer mark, counter, token hash, …).</summary>
    private string Kind(string uri)
    {
        var path = Uri.UnescapeDataString(new Uri(uri).AbsolutePath);
        var table = path.Split('/').FirstOrDefault(p => p.StartsWith(_vault.TablePrefix, StringComparison.Ordinal)) ?? "?";
        var row = path.Contains("RowKey='", StringComparison.Ordinal) ? path[(path.IndexOf("RowKey='", StringComparison.Ordinal) + 8)..] : "";
        return table[_vault.TablePrefix.Length..].Split('(')[0] + (row.Length > 0 ? ":" + row[..Math.Min(2, row.Length)] : "");
    }
}
