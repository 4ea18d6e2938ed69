using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Okap.Testing;

namespace Okap.Server.Tests;

/// <summary>A new provider key is tried with the provider before it is saved, through the proxy's own upstream path.</summary>
public sealed class MasterKeyCheckTests : IAsyncLifetime
{
    private readonly VaultFactory _vault = new();
    private readonly FakeProvider _fake = new();

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        _vault.Settings["Okap:Proxy:Providers:anthropic:BaseUrl"] = _fake.Url + "/anthropic";
        _vault.Settings["Okap:Proxy:Providers:google:BaseUrl"] = _fake.Url + "/google";
        // Nothing listens on port 1: the provider cannot be reached.
        _vault.Settings["Okap:Proxy:Providers:groq:BaseUrl"] = "http://127.0.0.1:1/openai/v1";
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task A_key_the_provider_refuses_is_not_saved_and_the_owner_is_told_why()
    {
        const string wrong = "sk-proj-WRONGkey-0000000000000000";
        _fake.RefusedKeys[wrong] = true;
        var owner = await _vault.SignUpAsync("alice");

        var response = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = wrong });
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("key", error["param"]!.GetValue<string>());
        Assert.Contains("OpenAI refused this key (HTTP 401", error["message"]!.GetValue<string>());
        Assert.DoesNotContain("WRONGkey", body);
        Assert.DoesNotContain("Incorrect API key", body);
        Assert.Empty((await owner.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);

        var probe = _fake.Last()!;
        Assert.Equal(("GET", "/openai/v1/models"), (probe.Method, probe.Path));
        Assert.Equal("Bearer " + wrong, probe.Header("authorization"));
        Assert.DoesNotContain("WRONGkey", _vault.Logs.All);
    }

    [Fact]
    public async Task A_key_the_provider_accepts_is_saved_and_the_reply_says_it_was_checked()
    {
        var owner = await _vault.SignUpAsync("alice");
        var saved = await (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-proj-GOODkey-1234" })).JsonAsync();
        Assert.Equal("accepted", saved["check"]!["result"]!.GetValue<string>());
        Assert.Equal("OpenAI accepted the key", saved["check"]!["detail"]!.GetValue<string>());
        var listed = (await owner.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!;
        Assert.Equal("1234", listed.Single()!["last4"]!.GetValue<string>());
        // The list has no check result: it describes the key, not the last save.
        Assert.Null(listed.Single()!["check"]);
    }

    [Fact]
    public async Task Each_provider_is_asked_in_its_own_format()
    {
        var owner = await _vault.SignUpAsync("alice");
        (await owner.PutAsJsonAsync("/okap/admin/keys/anthropic", new { key = "sk-ant-api03-CHECKED" })).EnsureSuccessStatusCode();
        var anthropic = _fake.Last()!;
        Assert.Equal("/anthropic/v1/models", anthropic.Path);
        Assert.Equal("sk-ant-api03-CHECKED", anthropic.Header("x-api-key"));
        Assert.Equal("2023-06-01", anthropic.Header("anthropic-version"));
        Assert.Null(anthropic.Header("authorization"));

        (await owner.PutAsJsonAsync("/okap/admin/keys/google", new { key = "AIzaCHECKED" })).EnsureSuccessStatusCode();
        var google = _fake.Last()!;
        Assert.Equal("/google/v1beta/models", google.Path);
        Assert.Equal("AIzaCHECKED", google.Header("x-goog-api-key"));
        Assert.DoesNotContain("AIza", google.Query);
    }

    [Fact]
    public async Task A_provider_that_cannot_be_reached_leaves_the_key_saved_but_unverified()
    {
        var owner = await _vault.SignUpAsync("alice");
        var saved = await (await owner.PutAsJsonAsync("/okap/admin/keys/groq", new { key = "gsk_UNREACHABLE" })).JsonAsync();
        Assert.Equal("unverified", saved["check"]!["result"]!.GetValue<string>());
        Assert.Contains("Groq could not be reached", saved["check"]!["detail"]!.GetValue<string>());
        Assert.Single((await owner.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);
    }

    [Fact]
    public async Task A_sentence_is_refused_as_a_key_before_anything_is_sent()
    {
        var owner = await _vault.SignUpAsync("alice");
        var response = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "hello world" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("no spaces", (await response.JsonAsync())["error"]!["message"]!.GetValue<string>());
        Assert.Empty(_fake.Seen);
    }

    [Fact]
    public async Task Only_an_owners_own_upstream_may_skip_the_check_and_the_check_never_reaches_a_private_address()
    {
        var owner = await _vault.SignUpAsync("alice");
        var builtIn = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-proj-NOCHECK", check = false });
        Assert.Equal(HttpStatusCode.BadRequest, builtIn.StatusCode);
        Assert.Equal("check", (await builtIn.JsonAsync())["error"]!["param"]!.GetValue<string>());

        // The owner's own base URL is dialled through the owners' guard: loopback is refused, so it stays unverified.
        var own = _fake.Url.Replace("http://", "https://") + "/own/v1";
        var guarded = await (await owner.PutAsJsonAsync("/okap/admin/keys/together", new { key = "tg-OWN", base_url = own })).JsonAsync();
        Assert.Equal("unverified", guarded["check"]!["result"]!.GetValue<string>());
        var skipped = await (await owner.PutAsJsonAsync("/okap/admin/keys/mistral", new { key = "ms-OWN", base_url = own, check = false })).JsonAsync();
        Assert.Equal("skipped", skipped["check"]!["result"]!.GetValue<string>());
        Assert.Empty(_fake.Seen);
    }
}
