using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Okap.Testing;

namespace Okap.Server.Tests;

/// <summary>An owner narrows an approved token after the fact; widening is a new consent and is refused.</summary>
public sealed class TokenNarrowingTests : IAsyncLifetime
{
    private readonly VaultFactory _vault = new();
    private readonly FakeProvider _fake = new();

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _vault.Settings["Okap:Addressing:BaseDomain"] = "vault.test";
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        await _fake.DisposeAsync();
    }

    private async Task<(HttpClient Owner, string Token, string TokenId)> TokenAsync()
    {
        var owner = await _vault.SignUpAsync("alice", "alice.vault.test");
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-narrow-master-0001" })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await _vault.ClientFor("alice.vault.test").PostAsJsonAsync("/okap/request",
            Bodies.Sdk(limits: new { monthly_spend = 10.0, requests_per_day = 1000 }))).JsonAsync();
        var tokenId = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();
        return (owner, granted["token"]!["token"]!.GetValue<string>(), tokenId);
    }

    private async Task<HttpStatusCode> ChatAsync(string token, string model)
    {
        using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        using var response = await _vault.CreateClient().SendAsync(call);
        return response.StatusCode;
    }

    private static Task<HttpResponseMessage> PatchAsync(HttpClient owner, string tokenId, object body) =>
        owner.PatchAsync($"/okap/admin/tokens/{tokenId}", JsonContent.Create(body));

    [Fact]
    public async Task A_model_taken_away_is_refused_by_the_proxy_while_the_rest_keeps_working()
    {
        var (owner, token, tokenId) = await TokenAsync();
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(token, "gpt-4"));

        var response = await PatchAsync(owner, tokenId, new { grants = new[] { new { provider = "openai", models = new[] { "gpt-4o-mini" }, limits = new { monthly_spend = 2.5 } } } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var view = await response.JsonAsync();
        var grant = view["grants"]!.AsArray().Single()!;
        Assert.Equal(["gpt-4o-mini"], grant["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(2.5m, grant["limits"]!["monthly_spend"]!.GetValue<decimal>());
        // What was left out keeps its value.
        Assert.Equal(1000, grant["limits"]!["requests_per_day"]!.GetValue<int>());
        Assert.Equal(["chat"], grant["capabilities"]!.AsArray().Select(m => m!.GetValue<string>()));

        // The proxy's token cache refreshes within about a second; wait for that, not longer.
        var refused = HttpStatusCode.OK;
        for (var i = 0; i < 50 && refused == HttpStatusCode.OK; i++)
        {
            refused = await ChatAsync(token, "gpt-4");
            if (refused == HttpStatusCode.OK) await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(token, "gpt-4o-mini"));

        var audit = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/audit?event=token.narrowed"))!["items"]!.AsArray();
        Assert.Contains("openai: models gpt-4o-mini, limits", Assert.Single(audit)!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_lowered_spend_cap_stops_calls_once_the_new_cap_is_reached()
    {
        var (owner, token, tokenId) = await TokenAsync();
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(token, "gpt-4o-mini"));
        (await PatchAsync(owner, tokenId, new { grants = new[] { new { provider = "openai", limits = new { monthly_spend = 0.0 } } } })).EnsureSuccessStatusCode();

        // Within the token refresh (about a second) and whatever budget this instance had leased, never more.
        var admitted = 0;
        var status = HttpStatusCode.OK;
        for (var i = 0; i < 50 && status == HttpStatusCode.OK; i++)
        {
            status = await ChatAsync(token, "gpt-4o-mini");
            if (status == HttpStatusCode.OK) { admitted++; await Task.Delay(100); }
        }
        Assert.NotEqual(HttpStatusCode.OK, status);
        Assert.True(status is HttpStatusCode.PaymentRequired or HttpStatusCode.TooManyRequests, status.ToString());
        Assert.True(admitted <= 12, $"{admitted} calls passed a cap of $0");
    }

    [Theory]
    [InlineData("""{"grants":[{"provider":"openai","models":["gpt-4o-mini","gpt-4","gpt-4o"]}]}""", "grants[0].models")]
    [InlineData("""{"grants":[{"provider":"openai","limits":{"monthly_spend":50}}]}""", "grants[0].limits.monthly_spend")]
    [InlineData("""{"grants":[{"provider":"openai","capabilities":["chat","embeddings"]}]}""", "grants[0].capabilities")]
    [InlineData("""{"grants":[{"provider":"anthropic"}]}""", "grants[0].provider")]
    [InlineData("""{"grants":[]}""", "grants")]
    [InlineData("""{}""", "grants")]
    [InlineData("""{"grants":[{"provider":"openai","expires":"2099-01-01"}]}""", "grants[0].expires")]
    public async Task Widening_or_malformed_narrowing_is_refused_and_changes_nothing(string body, string param)
    {
        var (owner, token, tokenId) = await TokenAsync();
        var before = await owner.GetStringAsync($"/okap/admin/tokens/{tokenId}");
        var response = await owner.PatchAsync($"/okap/admin/tokens/{tokenId}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, (await response.JsonAsync())["error"]!["param"]!.GetValue<string>());
        Assert.Equal(before, await owner.GetStringAsync($"/okap/admin/tokens/{tokenId}"));
        Assert.Equal(HttpStatusCode.OK, await ChatAsync(token, "gpt-4"));
    }

    [Fact]
    public async Task A_revoked_token_cannot_be_narrowed_and_another_owner_cannot_see_it()
    {
        var (owner, _, tokenId) = await TokenAsync();
        var bob = await _vault.SignUpAsync("bob", "bob.vault.test");
        var narrowing = new { grants = new[] { new { provider = "openai", models = new[] { "gpt-4" } } } };
        Assert.Equal(HttpStatusCode.NotFound, (await PatchAsync(bob, tokenId, narrowing)).StatusCode);

        (await owner.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).EnsureSuccessStatusCode();
        var response = await PatchAsync(owner, tokenId, narrowing);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("revoked", (await response.JsonAsync())["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Narrowing_needs_the_anti_forgery_header_with_a_session()
    {
        var (owner, _, tokenId) = await TokenAsync();
        owner.DefaultRequestHeaders.Remove("X-CSRF-TOKEN");
        var response = await PatchAsync(owner, tokenId, new { grants = new[] { new { provider = "openai", models = new[] { "gpt-4" } } } });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
