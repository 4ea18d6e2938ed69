using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace Okap.Testing.Behaviour;

/// <summary>The Python SDK's shape, <c>POST /okap/request</c>, with the bounded wait (4 s in every pass).</summary>
public abstract class SdkShapeBehaviour(BehaviourPass pass)
{
    private static string App() => "App " + Guid.NewGuid().ToString("N")[..8];

    [PassFact]
    public async Task Request_not_decided_within_the_wait_replies_pending_with_where_to_approve()
    {
        await pass.SingleOwnerAsync();
        var clock = Stopwatch.StartNew();
        var response = await pass.Single.Client().PostAsJsonAsync("/okap/request", Bodies.Sdk(app: App()));
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.False(body["approved"]!.GetValue<bool>());
        Assert.Equal("pending_approval", body["error_code"]!.GetValue<string>());
        Assert.Contains($"{pass.Single.Url}/#/requests/req_", body["error"]!.GetValue<string>());
        Assert.Equal("1.0", body["okap"]!.GetValue<string>());
        // Held for the configured wait, not answered at once.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(3.5), $"replied after {clock.Elapsed}");
    }

    [PassFact]
    public async Task Held_request_receives_the_token_when_the_owner_approves_during_the_wait()
    {
        var owner = await pass.Shared.SignUpAsync();
        var app = App();
        var waiting = owner.App().PostAsJsonAsync("/okap/request", Bodies.Sdk(app: app));
        var id = await owner.PendingIdAsync(app);
        Assert.False(waiting.IsCompleted);
        await owner.ApproveAsync(id);

        var body = await (await waiting).JsonAsync();
        Assert.True(body["approved"]!.GetValue<bool>());
        var token = body["token"]!.AsObject();
        Assert.StartsWith("okap_", token["token"]!.GetValue<string>());
        Assert.True(token["token"]!.GetValue<string>().Length >= 5 + 43, "at least 256 random bits");
        Assert.Equal($"{pass.Shared.Url}/v1/openai", token["base_url"]!.GetValue<string>());
        Assert.Equal("openai", token["provider"]!.GetValue<string>());
        Assert.Equal(["gpt-4o-mini", "gpt-4"], token["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(["chat"], token["capabilities"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(10.0m, token["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT00:00:00Z$", token["expires_at"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", token["created_at"]!.GetValue<string>());
        Assert.Null(body["error"]);

        // Handed over once: the request now names its token and when it was claimed.
        var request = await owner.Admin.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{id}");
        Assert.NotNull(request!["token_id"]);
        Assert.NotNull(request["claimed_at"]);
    }

    [PassFact]
    public async Task Denied_request_replies_approved_false_with_the_reason()
    {
        var owner = await pass.Shared.SignUpAsync();
        var app = App();
        var waiting = owner.App().PostAsJsonAsync("/okap/request", Bodies.Sdk(app: app));
        var id = await owner.PendingIdAsync(app);
        (await owner.Admin.PostAsJsonAsync($"/okap/admin/requests/{id}/deny", new { reason = "Not this app" })).EnsureSuccessStatusCode();

        var body = await (await waiting).JsonAsync();
        Assert.False(body["approved"]!.GetValue<bool>());
        Assert.Equal("access_denied", body["error_code"]!.GetValue<string>());
        Assert.Equal("Not this app", body["error"]!.GetValue<string>());
        Assert.Null(body["token"]);
    }

    [PassFact]
    public async Task Auto_approve_policy_grants_at_once_within_its_caps()
    {
        var owner = await pass.Shared.SignUpAsync();
        var app = App();
        var policy = await owner.Admin.PostAsJsonAsync("/okap/admin/policies", new
        {
            name = "trusted app", app_name = app, providers = new[] { "openai" },
            max_limits = new { monthly_spend = 5.0, requests_per_day = 100 }, max_days = 7,
        });
        Assert.Equal(HttpStatusCode.Created, policy.StatusCode);

        var clock = Stopwatch.StartNew();
        var body = await (await owner.App().PostAsJsonAsync("/okap/request", Bodies.Sdk(app: app, limits: new { monthly_spend = 50.0 }))).JsonAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"a policy grant waited {clock.Elapsed}");

        Assert.True(body["approved"]!.GetValue<bool>());
        var limits = body["token"]!["limits"]!;
        Assert.Equal(5.0m, limits["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(100, limits["requests_per_day"]!.GetValue<int>());
        var expires = DateTimeOffset.Parse(body["token"]!["expires_at"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        Assert.True(expires <= DateTimeOffset.UtcNow.AddDays(7).AddMinutes(1));

        var other = await (await owner.App().PostAsJsonAsync("/okap/request", Bodies.Sdk(app: "Other " + app))).JsonAsync();
        Assert.False(other["approved"]!.GetValue<bool>());
        var audit = await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?event=request.auto_approved");
        Assert.Single(audit!["items"]!.AsArray());
    }

    [PassFact]
    public async Task Reply_uses_only_values_the_python_sdk_can_parse()
    {
        var owner = await pass.Shared.SignUpAsync();
        (await owner.Admin.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai", "anthropic", "google", "ollama" } })).EnsureSuccessStatusCode();
        var app = owner.App();
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
        Assert.Equal(HttpStatusCode.BadRequest, (await app.PostAsJsonAsync("/okap/request", Bodies.Sdk("groq"))).StatusCode);
        var vision = await app.PostAsJsonAsync("/okap/request", Bodies.Sdk(capabilities: ["vision"]));
        Assert.Equal("capabilities[0]", (await vision.JsonAsync())["error"]!["param"]!.GetValue<string>());

        // And a minimal request gets chat, like the SDK's default.
        var minimal = await (await app.PostAsync("/okap/request", Bodies.Raw("""{"okap":"1.0","provider":"openai","models":[],"app_name":"Minimal"}"""))).JsonAsync();
        Assert.Equal(["chat"], minimal["token"]!["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Empty(minimal["token"]!["models"]!.AsArray());
    }
}

/// <summary>The specification's shape, <c>POST /okap/authorize</c> with a secret poll URL, and the poll's bounded wait.</summary>
public abstract class SpecShapeBehaviour(BehaviourPass pass)
{
    private static string App() => "App " + Guid.NewGuid().ToString("N")[..8];

    [PassFact]
    public async Task Authorize_replies_202_pending_with_a_secret_poll_url()
    {
        await pass.SingleOwnerAsync();
        var response = await pass.Single.Client().PostAsJsonAsync("/okap/authorize", Bodies.Spec(App()));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("pending", body["status"]!.GetValue<string>());
        var id = body["request_id"]!.GetValue<string>();
        Assert.StartsWith($"{pass.Single.Url}/okap/authorize/{id}?handle=okap_poll_", body["poll_url"]!.GetValue<string>());
        Assert.Null(body["token"]);
    }

    [PassFact]
    public async Task Approved_narrowed_request_hands_its_token_to_the_poller_once()
    {
        var owner = await pass.Shared.SignUpAsync();
        var app = owner.App();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec(App(), "openai", "anthropic"))).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();
        var pollUrl = new Uri(pending["poll_url"]!.GetValue<string>());
        Assert.Equal(owner.HostName, pollUrl.Host);

        await owner.ApproveAsync(id, new
        {
            grants = new[] { new { provider = "openai", models = new[] { "gpt-4" }, capabilities = new[] { "chat" }, limits = new { monthly_spend = 2.5, requests_per_minute = 10 } } },
        });

        var granted = await app.GetAsync(pollUrl.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        var body = await granted.JsonAsync();
        Assert.Equal("granted", body["status"]!.GetValue<string>());
        Assert.StartsWith("okap_", body["token"]!.GetValue<string>());
        var detail = body["authorization_details"]!.AsArray().Single()!;
        Assert.Equal("ai_model_access", detail["type"]!.GetValue<string>());
        Assert.Equal("openai", detail["provider"]!.GetValue<string>());
        Assert.Equal(["chat"], detail["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(2.5m, detail["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(1.0m, detail["limits"]!["daily_spend"]!.GetValue<decimal>());
        Assert.Equal($"{pass.Shared.Url}/v1/openai", detail["base_url"]!.GetValue<string>());
        Assert.NotNull(detail["expires"]);

        Assert.Equal(HttpStatusCode.Gone, (await app.GetAsync(pollUrl.PathAndQuery)).StatusCode);
    }

    [PassFact]
    public async Task Narrowing_can_never_widen_the_request()
    {
        var owner = await pass.Shared.SignUpAsync();
        var pending = await (await owner.App().PostAsJsonAsync("/okap/authorize", Bodies.Spec(App()))).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();

        var wider = await owner.Admin.PostAsJsonAsync($"/okap/admin/requests/{id}/approve", new
        {
            grants = new[] { new { provider = "openai", models = new[] { "gpt-4", "o3" }, capabilities = new[] { "chat" } } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, wider.StatusCode);
        Assert.Equal("grants[0].models", (await wider.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var moreMoney = await owner.Admin.PostAsJsonAsync($"/okap/admin/requests/{id}/approve", new
        {
            grants = new[] { new { provider = "openai", models = new[] { "gpt-4" }, capabilities = new[] { "chat" }, limits = new { monthly_spend = 100 } } },
        });
        Assert.Equal("grants[0].limits.monthly_spend", (await moreMoney.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var otherProvider = await owner.Admin.PostAsJsonAsync($"/okap/admin/requests/{id}/approve", new { grants = new[] { new { provider = "google" } } });
        Assert.Equal("grants[0].provider", (await otherProvider.JsonAsync())["error"]!["param"]!.GetValue<string>());
        Assert.Equal("pending", (await owner.Admin.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{id}"))!["status"]!.GetValue<string>());
    }

    [PassFact]
    public async Task Poll_with_a_wrong_handle_finds_nothing_and_the_handle_works_as_a_bearer_header()
    {
        var owner = await pass.Shared.SignUpAsync();
        var app = owner.App();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec(App()))).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync($"/okap/authorize/{id}?handle=okap_poll_guess")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync($"/okap/authorize/{id}")).StatusCode);

        var handle = new Uri(pending["poll_url"]!.GetValue<string>()).Query.Split("handle=")[1];
        using var viaHeader = new HttpRequestMessage(HttpMethod.Get, $"/okap/authorize/{id}");
        viaHeader.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Uri.UnescapeDataString(handle));
        Assert.Equal(HttpStatusCode.Accepted, (await app.SendAsync(viaHeader)).StatusCode);
    }

    [PassFact]
    public async Task Denied_request_polls_as_denied_with_the_reason()
    {
        var owner = await pass.Shared.SignUpAsync();
        var app = owner.App();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec(App()))).JsonAsync();
        (await owner.Admin.PostAsync($"/okap/admin/requests/{pending["request_id"]}/deny", null)).EnsureSuccessStatusCode();

        var body = await (await app.GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery)).JsonAsync();
        Assert.Equal("denied", body["status"]!.GetValue<string>());
        Assert.Equal("User declined authorization request", body["reason"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, (await owner.Admin.PostAsync($"/okap/admin/requests/{pending["request_id"]}/approve", null)).StatusCode);
    }

    [PassFact]
    public async Task Poll_with_wait_returns_as_soon_as_the_owner_decides()
    {
        var owner = await pass.Shared.SignUpAsync();
        var app = owner.App();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec(App()))).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();

        var clock = Stopwatch.StartNew();
        var poll = app.GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery + "&wait=20");
        await Task.Delay(500);
        Assert.False(poll.IsCompleted);
        await owner.ApproveAsync(id);

        var body = await (await poll).JsonAsync();
        Assert.Equal("granted", body["status"]!.GetValue<string>());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the poll answered after {clock.Elapsed} of its 20 s");
    }
}
