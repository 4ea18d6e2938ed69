using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Server.Tests;

public sealed class SdkShapeTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    /// <summary>The one pending request, once the held call has stored it (polled: on a busy Azurite that takes a while).</summary>
    private static async Task<string> PendingIdAsync(HttpClient owner)
    {
        for (var i = 0; ; i++)
        {
            var page = await owner.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=pending");
            var items = page!["items"]!.AsArray();
            if (items.Count > 0 || i >= 100) return items.Single()!["id"]!.GetValue<string>();
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Request_not_decided_within_the_wait_replies_pending_with_where_to_approve()
    {
        await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();

        var response = await app.PostAsJsonAsync("/okap/request", Bodies.Sdk());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.False(body["approved"]!.GetValue<bool>());
        Assert.Equal("pending_approval", body["error_code"]!.GetValue<string>());
        Assert.Contains("http://localhost/#/requests/req_", body["error"]!.GetValue<string>());
        Assert.Equal("1.0", body["okap"]!.GetValue<string>());
    }

    [Fact]
    public async Task Held_request_receives_the_token_when_the_owner_approves_during_the_wait()
    {
        _vault.Settings["Okap:DecisionWait"] = "00:00:20";
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();

        var waiting = app.PostAsJsonAsync("/okap/request", Bodies.Sdk());
        var id = await PendingIdAsync(owner);
        Assert.False(waiting.IsCompleted);
        (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).EnsureSuccessStatusCode();

        var response = await waiting;
        var body = await response.JsonAsync();
        Assert.True(body["approved"]!.GetValue<bool>());
        var token = body["token"]!.AsObject();
        Assert.StartsWith("okap_", token["token"]!.GetValue<string>());
        Assert.True(token["token"]!.GetValue<string>().Length >= 5 + 43, "at least 256 random bits");
        Assert.Equal("http://localhost/v1/openai", token["base_url"]!.GetValue<string>());
        Assert.Equal("openai", token["provider"]!.GetValue<string>());
        Assert.Equal(["gpt-4o-mini", "gpt-4"], token["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(["chat"], token["capabilities"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(10.0m, token["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT00:00:00Z$", token["expires_at"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", token["created_at"]!.GetValue<string>());
        Assert.Null(body["error"]);
    }

    [Fact]
    public async Task Approved_token_is_handed_over_once()
    {
        _vault.Settings["Okap:DecisionWait"] = "00:00:20";
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var first = app.PostAsJsonAsync("/okap/request", Bodies.Sdk());
        var id = await PendingIdAsync(owner);
        (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).EnsureSuccessStatusCode();
        var body = await (await first).JsonAsync();
        Assert.True(body["approved"]!.GetValue<bool>());

        var request = await owner.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{id}");
        Assert.NotNull(request!["token_id"]);
        Assert.NotNull(request["claimed_at"]);
    }

    [Fact]
    public async Task Denied_request_replies_approved_false_with_the_reason()
    {
        _vault.Settings["Okap:DecisionWait"] = "00:00:10";
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var waiting = app.PostAsJsonAsync("/okap/request", Bodies.Sdk());
        string? id = null;
        while (id is null)
        {
            var page = await owner.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=pending");
            id = page!["items"]!.AsArray().FirstOrDefault()?["id"]?.GetValue<string>();
        }
        (await owner.PostAsJsonAsync($"/okap/admin/requests/{id}/deny", new { reason = "Not this app" })).EnsureSuccessStatusCode();

        var body = await (await waiting).JsonAsync();
        Assert.False(body["approved"]!.GetValue<bool>());
        Assert.Equal("access_denied", body["error_code"]!.GetValue<string>());
        Assert.Equal("Not this app", body["error"]!.GetValue<string>());
        Assert.Null(body["token"]);
    }

    [Fact]
    public async Task Auto_approve_policy_grants_at_once_within_its_caps()
    {
        var owner = await _vault.SignUpAsync("alice");
        var policy = await owner.PostAsJsonAsync("/okap/admin/policies", new
        {
            name = "trusted app", app_name = "My AI App", providers = new[] { "openai" },
            max_limits = new { monthly_spend = 5.0, requests_per_day = 100 }, max_days = 7,
        });
        Assert.Equal(HttpStatusCode.Created, policy.StatusCode);
        var app = _vault.ClientFor();

        var body = await (await app.PostAsJsonAsync("/okap/request", Bodies.Sdk(limits: new { monthly_spend = 50.0 }))).JsonAsync();

        Assert.True(body["approved"]!.GetValue<bool>());
        var limits = body["token"]!["limits"]!;
        Assert.Equal(5.0m, limits["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(100, limits["requests_per_day"]!.GetValue<int>());
        var expires = DateTimeOffset.Parse(body["token"]!["expires_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(expires <= DateTimeOffset.UtcNow.AddDays(7).AddMinutes(1));

        var other = await (await app.PostAsJsonAsync("/okap/request", Bodies.Sdk(app: "Other App"))).JsonAsync();
        Assert.False(other["approved"]!.GetValue<bool>());
        var audit = await owner.GetFromJsonAsync<JsonObject>("/okap/admin/audit?event=request.auto_approved");
        Assert.Single(audit!["items"]!.AsArray());
    }

    [Fact]
    public async Task Reply_uses_only_values_the_python_sdk_can_parse()
    {
        var owner = await _vault.SignUpAsync("alice");
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai", "anthropic", "google", "ollama" } })).EnsureSuccessStatusCode();
        var app = _vault.ClientFor();
        string[] sdkProviders = ["openai", "anthropic", "google", "ollama"];
        string[] sdkCapabilities = ["chat", "completions", "embeddings", "images", "audio", "moderation"];
        foreach (var provider in sdkProviders)
        {
            var body = await (await app.PostAsJsonAsync("/okap/request", Bodies.Sdk(provider, capabilities: sdkCapabilities))).JsonAsync();
            var token = body["token"]!.AsObject();
            Assert.Contains(token["provider"]!.GetValue<string>(), sdkProviders);
            Assert.All(token["capabilities"]!.AsArray(), c => Assert.Contains(c!.GetValue<string>(), sdkCapabilities));
            Assert.Equal(["okap", "approved", "token"], body.Select(p => p.Key));
        }
        // Providers and capabilities the SDK cannot parse back are refused on this route.
        var groq = await app.PostAsJsonAsync("/okap/request", Bodies.Sdk("groq"));
        Assert.Equal(HttpStatusCode.BadRequest, groq.StatusCode);
        var vision = await app.PostAsJsonAsync("/okap/request", Bodies.Sdk(capabilities: ["vision"]));
        Assert.Equal("capabilities[0]", (await vision.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Request_without_capabilities_gets_chat_like_the_sdk_default()
    {
        var owner = await _vault.SignUpAsync("alice");
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var body = await (await _vault.ClientFor().PostAsync("/okap/request",
            Bodies.Raw("""{"okap":"1.0","provider":"openai","models":[],"app_name":"Minimal"}"""))).JsonAsync();
        Assert.Equal(["chat"], body["token"]!["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Empty(body["token"]!["models"]!.AsArray());
    }
}

public sealed class SdkRetryTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Sending_the_same_request_again_after_approval_picks_up_the_token_without_a_second_prompt()
    {
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var body = Bodies.Sdk(expires: "2099-01-01");
        var first = await (await app.PostAsJsonAsync("/okap/request", body)).JsonAsync();
        Assert.Equal("pending_approval", first["error_code"]!.GetValue<string>());
        var again = await (await app.PostAsJsonAsync("/okap/request", body)).JsonAsync();
        Assert.Equal("pending_approval", again["error_code"]!.GetValue<string>());
        var pending = (await owner.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/okap/admin/requests?status=pending"))!["items"]!.AsArray();
        Assert.Single(pending);

        (await owner.PostAsync($"/okap/admin/requests/{pending[0]!["id"]}/approve", null)).EnsureSuccessStatusCode();
        var granted = await (await app.PostAsJsonAsync("/okap/request", body)).JsonAsync();
        Assert.True(granted["approved"]!.GetValue<bool>());

        // A different request is a new question for the person.
        var different = await (await app.PostAsJsonAsync("/okap/request", Bodies.Sdk(app: "Another App", expires: "2099-01-01"))).JsonAsync();
        Assert.Equal("pending_approval", different["error_code"]!.GetValue<string>());
        // And the handed-over request is not handed over twice: the same body now asks anew.
        var fourth = await (await app.PostAsJsonAsync("/okap/request", body)).JsonAsync();
        Assert.Equal("pending_approval", fourth["error_code"]!.GetValue<string>());
    }

    private static async Task<string> PendingAsync(HttpClient owner) =>
        (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=pending"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();

    [Fact]
    public async Task A_repeated_request_after_the_pick_up_window_asks_anew_instead_of_taking_the_token()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var vault = new VaultFactory { Time = time };
        var owner = await vault.SignUpAsync("alice");
        var app = vault.ClientFor();
        var body = Bodies.Sdk(expires: "2099-01-01");
        Assert.Equal("pending_approval", (await (await app.PostAsJsonAsync("/okap/request", body)).JsonAsync())["error_code"]!.GetValue<string>());
        var id = await PendingAsync(owner);
        (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).EnsureSuccessStatusCode();

        // The app never came back; much later the same body arrives from the same address (a replay behind a shared proxy).
        time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var replay = await (await app.PostAsJsonAsync("/okap/request", body)).JsonAsync();
        Assert.False(replay["approved"]!.GetValue<bool>());
        Assert.Equal("pending_approval", replay["error_code"]!.GetValue<string>());
        Assert.Null(replay["token"]);
        Assert.NotEqual(id, await PendingAsync(owner)); // a new question for the person
        Assert.Empty((await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray());
    }
}
