using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>The proxy through the real Functions host: JSON, SSE streaming, errors, usage and revocation.</summary>
[Collection(UnderHostCollection.Name)]
public sealed class ProxyUnderHostTests(HostedVaults vaults)
{
    private static string App() => "Proxy app " + Guid.NewGuid().ToString("N")[..8];

    private HttpRequestMessage Chat(string token, bool stream = false, string model = "gpt-4o-mini")
    {
        var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model, stream, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "100,50");
        return call;
    }

    [HostFact]
    public async Task Json_call_is_forwarded_with_the_master_key_and_its_usage_is_recorded()
    {
        var owner = await vaults.OwnerAsync();
        var (token, tokenId) = await vaults.TokenAsync(App());
        var client = HostedVaults.Client(vaults.Sample);

        var response = await client.SendAsync(Chat(token));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hello from fake", (await response.JsonAsync())["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        var seen = vaults.Fake.Last(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal))!;
        Assert.Equal("Bearer " + HostedVaults.MasterKey, seen.Header("authorization"));
        Assert.DoesNotContain(token, string.Join(' ', seen.Headers.Values) + seen.Query + seen.Body);

        // Counters are flushed to Table Storage by the worker's hosted service (every 0.5 s here).
        JsonNode? month = null;
        for (var i = 0; i < 100 && month?["requests"]?.GetValue<long>() != 1; i++)
        {
            await Task.Delay(100);
            month = (await owner.GetFromJsonAsync<JsonObject>($"/okap/admin/tokens/{tokenId}/usage"))!["grants"]![0]!["month"];
        }
        Assert.Equal(1, month!["requests"]!.GetValue<long>());
        Assert.True(month["cost_usd"]!.GetValue<decimal>() > 0);
    }

    [HostFact]
    public async Task Streamed_completion_arrives_through_the_host_event_by_event()
    {
        await vaults.OwnerAsync();
        var (token, _) = await vaults.TokenAsync(App());
        var call = Chat(token, stream: true);
        call.Headers.Add("x-fake-delay-ms", "800"); // the fake spaces its three word chunks 0.8 s apart
        var clock = Stopwatch.StartNew();
        using var response = await HostedVaults.Client(vaults.Sample).SendAsync(call, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        var arrivals = new List<(TimeSpan At, string Data)>();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) arrivals.Add((clock.Elapsed, line[6..]));
        }

        Assert.Equal("[DONE]", arrivals[^1].Data);
        var words = arrivals.Where(a => a.Data.Contains("\"content\":\"", StringComparison.Ordinal) && !a.Data.Contains("\"content\":\"\"", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, words.Count);
        // Buffered by the host, every event would arrive together at the end (≥ 2.4 s); streamed, the first word is
        // here long before the last.
        Assert.True(words[^1].At - words[0].At >= TimeSpan.FromSeconds(1.2),
            $"events arrived at {string.Join(", ", arrivals.Select(a => a.At.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture) + " ms"))}");
    }

    [HostFact]
    public async Task Refusals_reach_the_app_in_the_providers_error_shape()
    {
        await vaults.OwnerAsync();
        var (token, _) = await vaults.TokenAsync(App());
        var client = HostedVaults.Client(vaults.Sample);

        var unknown = await client.SendAsync(Chat("okap_" + new string('A', 43)));
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("invalid_token", (await unknown.JsonAsync())["error"]!["type"]!.GetValue<string>());

        var model = await client.SendAsync(Chat(token, model: "o3"));
        Assert.Equal(HttpStatusCode.Forbidden, model.StatusCode);
        Assert.NotNull((await model.JsonAsync())["error"]!["message"]);

        var otherProvider = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages") { Content = JsonContent.Create(new { model = "claude-3-5-haiku-latest", max_tokens = 5 }) };
        otherProvider.Headers.Add("x-api-key", token);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(otherProvider)).StatusCode);

        var upstream = Chat(token);
        upstream.Headers.Add("x-fake-mode", "error");
        var failed = await client.SendAsync(upstream);
        Assert.Equal(HttpStatusCode.BadRequest, failed.StatusCode);
        Assert.Equal("upstream says no", (await failed.JsonAsync())["error"]!["message"]!.GetValue<string>());
    }

    [HostFact]
    public async Task Revoked_token_is_refused_with_token_revoked()
    {
        var owner = await vaults.OwnerAsync();
        var (token, tokenId) = await vaults.TokenAsync(App());
        var client = HostedVaults.Client(vaults.Sample);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Chat(token))).StatusCode);

        (await owner.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).EnsureSuccessStatusCode();

        HttpResponseMessage refused;
        var clock = Stopwatch.StartNew();
        do
        {
            refused = await client.SendAsync(Chat(token));
        } while (refused.StatusCode == HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(10) && await Delay());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("token_revoked", (await refused.JsonAsync())["error"]!["type"]!.GetValue<string>());
        Assert.Equal("revoked", (await owner.GetFromJsonAsync<JsonObject>($"/okap/admin/tokens/{tokenId}"))!["status"]!.GetValue<string>());

        static async Task<bool> Delay() { await Task.Delay(100); return true; }
    }

    [HostFact]
    public async Task Secrets_in_urls_headers_and_bodies_never_reach_the_hosts_log()
    {
        var owner = await vaults.OwnerAsync();
        var (token, _) = await vaults.TokenAsync(App());
        var client = HostedVaults.Client(vaults.Sample);
        // A Gemini-style ?key= in the URL, a poll handle in the query, a master key in a body.
        (await client.GetAsync($"/v1/openai/models?key={token}")).Dispose();
        var pending = await (await client.PostAsJsonAsync("/okap/authorize", HostBodies.Spec(App()))).JsonAsync();
        var pollUrl = new Uri(pending["poll_url"]!.GetValue<string>());
        (await client.GetAsync(pollUrl.PathAndQuery)).Dispose();
        const string masterKey = "sk-never-logged-master-key-91x";
        (await owner.PutAsJsonAsync("/okap/admin/keys/groq", new { key = masterKey })).EnsureSuccessStatusCode();
        (await owner.DeleteAsync("/okap/admin/keys/groq")).EnsureSuccessStatusCode();
        await Task.Delay(1000); // the host writes its log lines asynchronously

        var log = vaults.Sample.Output;
        Assert.Contains("Executed 'Functions.Proxy'", log); // the host did log these calls, just not their secrets
        Assert.DoesNotContain(token, log);
        Assert.DoesNotContain(pollUrl.Query.Split("handle=")[1], log);
        Assert.DoesNotContain(masterKey, log);
        Assert.DoesNotContain(HostedVaults.MasterKey, log);
        Assert.DoesNotContain(HostedVaults.Password, log);
        Assert.DoesNotContain("/v1/openai/models", log);
    }
}
