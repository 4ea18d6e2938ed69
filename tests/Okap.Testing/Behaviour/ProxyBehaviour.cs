using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Okap.Testing.Behaviour;

/// <summary>The proxy inside the whole vault: JSON, SSE streaming, provider-shaped errors, usage, key changes and revocation.</summary>
public abstract class ProxyBehaviour(BehaviourPass pass)
{
    private static string App() => "Proxy app " + Guid.NewGuid().ToString("N")[..8];

    /// <summary>An owner with its own master key and a token of a new app.</summary>
    private async Task<(VaultOwner Owner, string MasterKey, string Token, string TokenId)> TokenAsync()
    {
        var owner = await pass.Shared.SignUpAsync();
        var masterKey = "sk-proxy-" + Guid.NewGuid().ToString("N");
        await owner.SetKeyAsync(masterKey);
        var (token, tokenId) = await owner.TokenAsync(App());
        return (owner, masterKey, token, tokenId);
    }

    public static HttpRequestMessage Chat(string token, bool stream = false, string model = "gpt-4o-mini")
    {
        var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model, stream, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "100,50");
        return call;
    }

    /// <summary>The last chat call the fake received with <paramref name="masterKey"/> (not the check of a new key).</summary>
    private SeenRequest? SeenWith(string masterKey) =>
        pass.Fake.Last(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal) && s.Header("authorization") == "Bearer " + masterKey);

    [PassFact]
    public async Task Json_call_is_forwarded_with_the_master_key_and_its_use_is_audited_and_counted()
    {
        var (owner, masterKey, token, tokenId) = await TokenAsync();
        var client = pass.Shared.Client();
        for (var i = 0; i < 3; i++)
        {
            var response = await client.SendAsync(Chat(token));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Hello from fake", (await response.JsonAsync())["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        }
        var seen = SeenWith(masterKey)!;
        Assert.NotNull(seen);
        Assert.DoesNotContain(token, string.Join(' ', seen.Headers.Values) + seen.Query + seen.Body);

        // Counters reach the store in batches (every 0.5 s here), one token.used entry a batch; a batch may hold a call
        // whose tokens settle in the next one. Together they must account for exactly the three calls.
        var totals = (Calls: 0L, Input: 0L, Output: 0L);
        for (var i = 0; i < 100 && totals != (3, 300, 150); i++)
        {
            await Task.Delay(100);
            var used = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?event=token.used"))!["items"]!.AsArray();
            Assert.All(used, e => Assert.Equal(tokenId, e!["token_id"]!.GetValue<string>()));
            totals = (0, 0, 0);
            foreach (var entry in used)
            {
                var detail = Regex.Match(entry!["detail"]!.GetValue<string>(), @"^openai: (\d+) calls, (\d+) input / (\d+) output tokens");
                Assert.True(detail.Success, entry.ToJsonString());
                totals = (totals.Calls + long.Parse(detail.Groups[1].Value, CultureInfo.InvariantCulture),
                    totals.Input + long.Parse(detail.Groups[2].Value, CultureInfo.InvariantCulture), totals.Output + long.Parse(detail.Groups[3].Value, CultureInfo.InvariantCulture));
            }
        }
        Assert.Equal((3L, 300L, 150L), totals);

        var month = (await owner.Admin.GetFromJsonAsync<JsonObject>($"/okap/admin/tokens/{tokenId}/usage"))!["grants"]![0]!["month"]!;
        Assert.Equal(3, month["requests"]!.GetValue<long>());
        Assert.Equal(10m, month["cap_usd"]!.GetValue<decimal>());
        Assert.True(month["cost_usd"]!.GetValue<decimal>() > 0);
        Assert.Equal(10m - month["cost_usd"]!.GetValue<decimal>() - month["reserved_usd"]!.GetValue<decimal>(), month["remaining_usd"]!.GetValue<decimal>());
    }

    [PassFact]
    public async Task Streamed_completion_arrives_event_by_event()
    {
        var (_, _, token, _) = await TokenAsync();
        var call = Chat(token, stream: true);
        call.Headers.Add("x-fake-delay-ms", "800"); // the fake spaces its three word chunks 0.8 s apart
        var clock = Stopwatch.StartNew();
        using var response = await pass.Shared.Client().SendAsync(call, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        var arrivals = await ReadEventsAsync(response, clock);

        Assert.Equal("[DONE]", arrivals[^1].Data);
        var words = Words(arrivals);
        Assert.Equal(3, words.Count);
        // Buffered anywhere on the way, every event would arrive together at the end (≥ 2.4 s); streamed, the first
        // word is here long before the last.
        Assert.True(words[^1].At - words[0].At >= TimeSpan.FromSeconds(1.2), $"events arrived at {Timeline(arrivals)}");
    }

    /// <summary>Every <c>data:</c> line of an SSE answer, with when it arrived, added to <paramref name="arrivals"/> as it comes (an answer cut short keeps what arrived).</summary>
    public static async Task<List<(TimeSpan At, string Data)>> ReadEventsAsync(HttpResponseMessage response, Stopwatch clock, List<(TimeSpan At, string Data)>? arrivals = null)
    {
        arrivals ??= [];
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) arrivals.Add((clock.Elapsed, line[6..]));
        }
        return arrivals;
    }

    /// <summary>The events that carry a word of the answer.</summary>
    public static List<(TimeSpan At, string Data)> Words(IEnumerable<(TimeSpan At, string Data)> arrivals) =>
        arrivals.Where(a => a.Data.Contains("\"content\":\"", StringComparison.Ordinal) && !a.Data.Contains("\"content\":\"\"", StringComparison.Ordinal)).ToList();

    public static string Timeline(IEnumerable<(TimeSpan At, string Data)> arrivals) =>
        string.Join(", ", arrivals.Select(a => a.At.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms"));

    [PassFact]
    public async Task Refusals_reach_the_app_in_the_providers_error_shape()
    {
        var (_, _, token, _) = await TokenAsync();
        var client = pass.Shared.Client();

        var unknown = await client.SendAsync(Chat("okap_" + new string('A', 43)));
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal("invalid_token", (await unknown.JsonAsync())["error"]!["type"]!.GetValue<string>());

        var model = await client.SendAsync(Chat(token, model: "o3"));
        Assert.Equal(HttpStatusCode.Forbidden, model.StatusCode);
        Assert.NotNull((await model.JsonAsync())["error"]!["message"]);

        using var otherProvider = new HttpRequestMessage(HttpMethod.Post, "/v1/anthropic/v1/messages") { Content = JsonContent.Create(new { model = "claude-3-5-haiku-latest", max_tokens = 5 }) };
        otherProvider.Headers.Add("x-api-key", token);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(otherProvider)).StatusCode);

        var upstream = Chat(token);
        upstream.Headers.Add("x-fake-mode", "error");
        var failed = await client.SendAsync(upstream);
        Assert.Equal(HttpStatusCode.BadRequest, failed.StatusCode);
        Assert.Equal("upstream says no", (await failed.JsonAsync())["error"]!["message"]!.GetValue<string>());
    }

    [PassFact]
    public async Task Replacing_a_master_key_takes_effect_on_the_next_call_and_removing_it_refuses()
    {
        var (owner, masterKey, token, _) = await TokenAsync();
        var client = pass.Shared.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Chat(token))).StatusCode);
        Assert.NotNull(SeenWith(masterKey));

        var replacement = masterKey + "-2";
        await owner.SetKeyAsync(replacement);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Chat(token))).StatusCode);
        Assert.NotNull(SeenWith(replacement));

        (await owner.Admin.DeleteAsync("/okap/admin/keys/openai")).EnsureSuccessStatusCode();
        var noKey = await client.SendAsync(Chat(token));
        Assert.Equal(HttpStatusCode.Forbidden, noKey.StatusCode);
        Assert.Equal("no_master_key", (await noKey.JsonAsync())["error"]!["type"]!.GetValue<string>());
    }

    [PassFact]
    public async Task Revocation_is_idempotent_audited_and_the_token_is_refused_with_token_revoked()
    {
        var (owner, _, token, tokenId) = await TokenAsync();
        var client = pass.Shared.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Chat(token))).StatusCode);

        var first = await (await owner.Admin.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).JsonAsync();
        var second = await (await owner.Admin.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).JsonAsync();
        Assert.Equal("revoked", first["status"]!.GetValue<string>());
        Assert.Equal(first["revoked_at"]!.GetValue<DateTimeOffset>(), second["revoked_at"]!.GetValue<DateTimeOffset>());
        Assert.Single((await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?event=token.revoked"))!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Admin.PostAsync("/okap/admin/tokens/tok_missing/revoke", null)).StatusCode);

        // The proxy's token cache may answer from memory for a moment; within seconds the token is refused.
        HttpResponseMessage refused;
        var clock = Stopwatch.StartNew();
        do
        {
            refused = await client.SendAsync(Chat(token));
            if (refused.StatusCode != HttpStatusCode.OK) break;
            await Task.Delay(100);
        } while (clock.Elapsed < TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("token_revoked", (await refused.JsonAsync())["error"]!["type"]!.GetValue<string>());
    }
}
