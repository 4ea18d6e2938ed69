using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core.Pricing;
using Okap.Testing;

namespace Okap.Server.Tests;

/// <summary>Owners' own prices through the admin API, and the proxy pricing usage with them.</summary>
public sealed class PriceOverrideTests : IAsyncLifetime
{
    private readonly VaultFactory _vault = new();
    private readonly FakeProvider _fake = new();

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _vault.Settings["Okap:Addressing:BaseDomain"] = "vault.test";
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        _vault.Settings["Okap:Proxy:FlushInterval"] = "00:00:00.200";
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        await _fake.DisposeAsync();
    }

    private static object Price(decimal input = 2.5m, decimal? cached = 1.25m, decimal output = 10m, int? maxOutput = 16384) =>
        new { input_per_million = input, cached_input_per_million = cached, output_per_million = output, max_output_tokens = maxOutput };

    [Fact]
    public async Task Owner_sets_lists_replaces_and_removes_prices_and_another_owner_cannot_see_or_remove_them()
    {
        var alice = await _vault.SignUpAsync("alice", "alice.vault.test");
        var bob = await _vault.SignUpAsync("bob", "bob.vault.test");
        Assert.Empty((await alice.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!);

        var set = await alice.PutAsJsonAsync("/okap/admin/prices/openai/gpt-4o-mini", Price());
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var view = await set.JsonAsync();
        Assert.Equal("openai", view["provider"]!.GetValue<string>());
        Assert.Equal("gpt-4o-mini", view["model"]!.GetValue<string>());
        Assert.Equal(2.5m, view["input_per_million"]!.GetValue<decimal>());
        Assert.Equal(1.25m, view["cached_input_per_million"]!.GetValue<decimal>());
        Assert.Equal(10m, view["output_per_million"]!.GetValue<decimal>());
        Assert.Equal(16384, view["max_output_tokens"]!.GetValue<int>());
        Assert.NotNull(view["updated_at"]);

        // A model name with a slash (sent as-is, or encoded) and the provider-wide "*".
        (await alice.PutAsJsonAsync("/okap/admin/prices/together/meta-llama/Llama-3.3-70B-Instruct-Turbo", Price(0.5m, null, 0.5m, null))).EnsureSuccessStatusCode();
        (await alice.PutAsJsonAsync("/okap/admin/prices/together/deepseek-ai%2FDeepSeek-V3", Price(1, null, 1, null))).EnsureSuccessStatusCode();
        (await alice.PutAsJsonAsync("/okap/admin/prices/ollama/*", Price(0, null, 0, null))).EnsureSuccessStatusCode();

        var listed = (await alice.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!;
        Assert.Equal(["ollama/*", "openai/gpt-4o-mini", "together/deepseek-ai/DeepSeek-V3", "together/meta-llama/Llama-3.3-70B-Instruct-Turbo"],
            listed.Select(p => p!["provider"]!.GetValue<string>() + "/" + p["model"]!.GetValue<string>()));
        var llama = listed.Single(p => p!["model"]!.GetValue<string>().StartsWith("meta-llama", StringComparison.Ordinal))!;
        Assert.Null(llama["cached_input_per_million"]);
        Assert.Null(llama["max_output_tokens"]);

        // Replacing keeps one entry.
        (await alice.PutAsJsonAsync("/okap/admin/prices/openai/gpt-4o-mini", Price(3, 1, 12))).EnsureSuccessStatusCode();
        listed = (await alice.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!;
        Assert.Equal(4, listed.Count);
        Assert.Equal(3m, listed.Single(p => p!["model"]!.GetValue<string>() == "gpt-4o-mini")!["input_per_million"]!.GetValue<decimal>());

        // Bob sees none of it and cannot remove it.
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync("/okap/admin/prices/openai/gpt-4o-mini")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.DeleteAsync("/okap/admin/prices/ollama/*")).StatusCode);
        // His own price for the same model is his alone.
        (await bob.PutAsJsonAsync("/okap/admin/prices/openai/gpt-4o-mini", Price(99, 99, 99))).EnsureSuccessStatusCode();
        Assert.Equal(3m, (await alice.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!
            .Single(p => p!["model"]!.GetValue<string>() == "gpt-4o-mini")!["input_per_million"]!.GetValue<decimal>());
        Assert.Single((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!);

        // Removing: 204, then 404.
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/okap/admin/prices/openai/gpt-4o-mini")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.DeleteAsync("/okap/admin/prices/openai/gpt-4o-mini")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/okap/admin/prices/together/meta-llama/Llama-3.3-70B-Instruct-Turbo")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/okap/admin/prices/ollama/*")).StatusCode);
        Assert.Equal(["together/deepseek-ai/DeepSeek-V3"],
            (await alice.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!.Select(p => p!["provider"]!.GetValue<string>() + "/" + p["model"]!.GetValue<string>()));
        Assert.Single((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!);

        // Audited, for the owner who made the change only.
        var audit = (await alice.GetFromJsonAsync<JsonObject>("/okap/admin/audit"))!["items"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()).ToArray();
        Assert.Equal(5, audit.Count(e => e == "price.set"));
        Assert.Equal(3, audit.Count(e => e == "price.removed"));
        var bobAudit = (await bob.GetFromJsonAsync<JsonObject>("/okap/admin/audit"))!["items"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()).ToArray();
        Assert.Equal(1, bobAudit.Count(e => e == "price.set"));
        Assert.DoesNotContain("price.removed", bobAudit);
    }

    [Theory]
    [InlineData("openai/gpt-4o", """{"input_per_million":-1,"output_per_million":1}""", "input_per_million")]
    [InlineData("openai/gpt-4o", """{"input_per_million":1,"output_per_million":10000.01}""", "output_per_million")]
    [InlineData("openai/gpt-4o", """{"input_per_million":1,"output_per_million":1,"cached_input_per_million":-0.5}""", "cached_input_per_million")]
    [InlineData("openai/gpt-4o", """{"input_per_million":1,"output_per_million":1,"cached_input_per_million":"cheap"}""", "cached_input_per_million")]
    [InlineData("openai/gpt-4o", """{"output_per_million":1}""", "input_per_million")]
    [InlineData("openai/gpt-4o", """{"input_per_million":1}""", "output_per_million")]
    [InlineData("openai/gpt-4o", """{"input_per_million":1,"output_per_million":1,"max_output_tokens":0}""", "max_output_tokens")]
    [InlineData("openai/gpt-4o", """{"input_per_million":1,"output_per_million":1,"max_output_tokens":1.5}""", "max_output_tokens")]
    [InlineData("nosuchprovider/gpt-4o", """{"input_per_million":1,"output_per_million":1}""", "provider")]
    [InlineData("openai/gpt%204o", """{"input_per_million":1,"output_per_million":1}""", "model")]
    [InlineData("openai/gpt-4o%09", """{"input_per_million":1,"output_per_million":1}""", "model")]
    [InlineData("openai/gpt-4o", "[]", "body")]
    public async Task Bad_price_bodies_give_400_naming_the_field(string path, string json, string field)
    {
        var owner = await _vault.SignUpAsync("alice", "alice.vault.test");
        var response = await owner.PutAsync("/okap/admin/prices/" + path, Bodies.Raw(json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await response.JsonAsync())["error"]!["param"]!.GetValue<string>());
        Assert.Empty((await owner.GetFromJsonAsync<JsonArray>("/okap/admin/prices"))!);
    }

    [Fact]
    public async Task Model_names_longer_than_128_characters_are_refused()
    {
        var owner = await _vault.SignUpAsync("alice", "alice.vault.test");
        var ok = await owner.PutAsJsonAsync("/okap/admin/prices/openai/" + new string('m', 128), Price());
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var tooLong = await owner.PutAsJsonAsync("/okap/admin/prices/openai/" + new string('m', 129), Price());
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("model", (await tooLong.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Price_routes_need_a_signed_in_owner()
    {
        var anonymous = _vault.ClientFor("alice.vault.test");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/okap/admin/prices")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PutAsJsonAsync("/okap/admin/prices/openai/gpt-4o", Price())).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync("/okap/admin/prices/openai/gpt-4o")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/okap/admin/catalog")).StatusCode);
    }

    [Fact]
    public async Task Catalog_lists_its_version_and_prices()
    {
        var owner = await _vault.SignUpAsync("alice", "alice.vault.test");
        var catalog = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/catalog"))!;
        Assert.Equal(PriceCatalog.Default.Version, catalog["version"]!.GetValue<string>());
        Assert.Equal("USD", catalog["currency"]!.GetValue<string>());
        var models = catalog["models"]!.AsArray();
        Assert.Equal(PriceCatalog.Default.Entries.Count, models.Count);
        var gpt4o = models.Single(m => m!["provider"]!.GetValue<string>() == "openai" && m["model"]!.GetValue<string>() == "gpt-4o")!;
        var expected = PriceCatalog.Default.Find("openai", "gpt-4o")!;
        Assert.Equal(expected.InputMicrosPerMillion / 1_000_000m, gpt4o["input_per_million"]!.GetValue<decimal>());
        Assert.Equal(expected.OutputMicrosPerMillion / 1_000_000m, gpt4o["output_per_million"]!.GetValue<decimal>());
        Assert.Null(gpt4o["updated_at"]);
    }

    [Fact]
    public async Task Proxied_usage_is_priced_by_the_owners_override()
    {
        // The store's own override store wins over the proxy's fallback.
        Assert.IsNotType<NoPriceOverrides>(_vault.Services.GetRequiredService<IPriceOverrideStore>());

        var owner = await _vault.SignUpAsync("alice", "alice.vault.test");
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-alice-master-key-1234" })).EnsureSuccessStatusCode();
        (await owner.PutAsJsonAsync("/okap/admin/prices/openai/gpt-4o-mini", Price(2.5m, 1.25m, 10m, 16384))).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await _vault.ClientFor("alice.vault.test").PostAsJsonAsync("/okap/request", Bodies.Sdk())).JsonAsync();
        Assert.True(granted["approved"]!.GetValue<bool>());
        var token = granted["token"]!["token"]!.GetValue<string>();
        var tokenId = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();

        var app = _vault.CreateClient();
        using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "1000,500");
        var answer = await app.SendAsync(call);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("Bearer sk-alice-master-key-1234", _fake.Last(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal))!.Header("authorization"));

        // 1000 input × $2.50/M + 500 output × $10/M = $0.0075 (the catalog's gpt-4o-mini price would give $0.00045).
        const decimal expected = 0.0075m;
        var catalogCost = PriceCatalog.Default.Find("openai", "gpt-4o-mini")!.CostMicros(new Okap.Core.Metering.TokenUsage(1000, 0, 500)) / 1_000_000m;
        Assert.NotEqual(expected, catalogCost);

        // Wait for the flush: the stored daily counter (GET /okap/admin/usage reads the store only) carries the cost.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        JsonObject? row = null;
        while (DateTime.UtcNow < deadline)
        {
            row = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/usage"))!["rows"]!.AsArray().SingleOrDefault()?.AsObject();
            // A flush may land between the call's reservation (request counted) and its settlement (tokens and cost).
            if (row is not null && row["output_tokens"]!.GetValue<long>() > 0) break;
            await Task.Delay(100);
        }
        Assert.NotNull(row);
        Assert.Equal(tokenId, row["token_id"]!.GetValue<string>());
        Assert.Equal(expected, row["cost_usd"]!.GetValue<decimal>());
        Assert.Equal(1000, row["input_tokens"]!.GetValue<long>());
        Assert.Equal(500, row["output_tokens"]!.GetValue<long>());

        var usage = (await owner.GetFromJsonAsync<JsonObject>($"/okap/admin/tokens/{tokenId}/usage"))!;
        var grant = usage["grants"]!.AsArray().Single()!;
        Assert.Equal(expected, grant["today"]!["cost_usd"]!.GetValue<decimal>());
        Assert.Equal(expected, grant["month"]!["cost_usd"]!.GetValue<decimal>());
        Assert.Equal(1, grant["today"]!["requests"]!.GetValue<long>());
    }
}
