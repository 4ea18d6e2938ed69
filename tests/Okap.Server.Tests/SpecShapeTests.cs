using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace Okap.Server.Tests;

public sealed class SpecShapeTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Authorize_replies_202_pending_with_a_secret_poll_url()
    {
        await _vault.SignUpAsync("alice");
        var response = await _vault.ClientFor().PostAsJsonAsync("/okap/authorize", Bodies.Spec());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("pending", body["status"]!.GetValue<string>());
        var id = body["request_id"]!.GetValue<string>();
        Assert.StartsWith($"http://localhost/okap/authorize/{id}?handle=okap_poll_", body["poll_url"]!.GetValue<string>());
        Assert.Null(body["token"]);
    }

    [Fact]
    public async Task Approved_narrowed_request_hands_its_token_to_the_poller_once()
    {
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec("Example App", "openai", "anthropic"))).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();
        var pollUrl = new Uri(pending["poll_url"]!.GetValue<string>());

        var approve = await owner.PostAsJsonAsync($"/okap/admin/requests/{id}/approve", new
        {
            grants = new[] { new { provider = "openai", models = new[] { "gpt-4" }, capabilities = new[] { "chat" }, limits = new { monthly_spend = 2.5, requests_per_minute = 10 } } },
        });
        Assert.Equal(HttpStatusCode.OK, approve.StatusCode);

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
        Assert.Equal("http://localhost/v1/openai", detail["base_url"]!.GetValue<string>());
        Assert.NotNull(detail["expires"]);

        var again = await app.GetAsync(pollUrl.PathAndQuery);
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
    }

    [Fact]
    public async Task Narrowing_can_never_widen_the_request()
    {
        var owner = await _vault.SignUpAsync("alice");
        var pending = await (await _vault.ClientFor().PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();

        var wider = await owner.PostAsJsonAsync($"/okap/admin/requests/{id}/approve", new
        {
            grants = new[] { new { provider = "openai", models = new[] { "gpt-4", "o3" }, capabilities = new[] { "chat" } } },
        });
        Assert.Equal(HttpStatusCode.BadRequest, wider.StatusCode);
        Assert.Equal("grants[0].models", (await wider.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var moreMoney = await owner.PostAsJsonAsync($"/okap/admin/requests/{id}/approve", new
        {
            grants = new[] { new { provider = "openai", models = new[] { "gpt-4" }, capabilities = new[] { "chat" }, limits = new { monthly_spend = 100 } } },
        });
        Assert.Equal("grants[0].limits.monthly_spend", (await moreMoney.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var otherProvider = await owner.PostAsJsonAsync($"/okap/admin/requests/{id}/approve", new { grants = new[] { new { provider = "google" } } });
        Assert.Equal("grants[0].provider", (await otherProvider.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Poll_with_a_wrong_handle_finds_nothing()
    {
        await _vault.SignUpAsync("alice");
        var pending = await (await _vault.ClientFor().PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();
        var app = _vault.ClientFor();

        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync($"/okap/authorize/{id}?handle=okap_poll_guess")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync($"/okap/authorize/{id}")).StatusCode);
        var handle = new Uri(pending["poll_url"]!.GetValue<string>()).Query.Split("handle=")[1];
        var viaHeader = new HttpRequestMessage(HttpMethod.Get, $"/okap/authorize/{id}");
        viaHeader.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Uri.UnescapeDataString(handle));
        Assert.Equal(HttpStatusCode.Accepted, (await app.SendAsync(viaHeader)).StatusCode);
    }

    [Fact]
    public async Task Denied_request_polls_as_denied_with_the_reason()
    {
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        (await owner.PostAsync($"/okap/admin/requests/{pending["request_id"]}/deny", null)).EnsureSuccessStatusCode();

        var body = await (await app.GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery)).JsonAsync();
        Assert.Equal("denied", body["status"]!.GetValue<string>());
        Assert.Equal("User declined authorization request", body["reason"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, (await owner.PostAsync($"/okap/admin/requests/{pending["request_id"]}/approve", null)).StatusCode);
    }
}

public sealed class WaitingAndExpiryTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly VaultFactory _vault;

    public WaitingAndExpiryTests()
    {
        _vault = new VaultFactory { Time = _time };
        _vault.Settings["Okap:DecisionWait"] = "00:00:25";
        _vault.Settings["Okap:DecisionPollInterval"] = "00:00:01";
        _vault.Settings["Okap:PendingRequestLifetime"] = "00:10:00";
    }

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Sdk_call_is_held_for_the_configured_wait_and_no_longer()
    {
        await _vault.SignUpAsync("alice");
        var waiting = _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk());

        for (var second = 0; second < 24; second++)
        {
            await Task.Delay(20);
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.False(waiting.IsCompleted, $"replied after {second + 1} s of a 25 s wait");
        }
        for (var i = 0; i < 200 && !waiting.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }
        Assert.True(waiting.IsCompleted);
        var body = await (await waiting).JsonAsync();
        Assert.Equal("pending_approval", body["error_code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pending_request_expires_after_its_lifetime()
    {
        _vault.Settings["Okap:DecisionWait"] = "00:00:00";
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();

        _time.Advance(TimeSpan.FromMinutes(11));

        var poll = await (await app.GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery)).JsonAsync();
        Assert.Equal("expired", poll["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).StatusCode);
        var view = await owner.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{id}");
        Assert.Equal("expired", view!["status"]!.GetValue<string>());
        var sdk = await (await app.PostAsJsonAsync("/okap/request", Bodies.Sdk())).JsonAsync();
        Assert.Equal("pending_approval", sdk["error_code"]!.GetValue<string>());
    }

    [Fact]
    public async Task Poll_with_wait_returns_as_soon_as_the_owner_decides()
    {
        _vault.Settings["Okap:DecisionWait"] = "00:00:00";
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();

        var poll = app.GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery + "&wait=20");
        await Task.Delay(100);
        Assert.False(poll.IsCompleted);
        (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).EnsureSuccessStatusCode();
        for (var i = 0; i < 40 && !poll.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }
        var body = await (await poll).JsonAsync();
        Assert.Equal("granted", body["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Expired_token_is_shown_expired()
    {
        _vault.Settings["Okap:DecisionWait"] = "00:00:00";
        var owner = await _vault.SignUpAsync("alice");
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" }, max_days = 1 })).EnsureSuccessStatusCode();
        var body = await (await _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk())).JsonAsync();
        Assert.True(body["approved"]!.GetValue<bool>());

        _time.Advance(TimeSpan.FromDays(2));
        owner = _vault.ClientFor();
        (await owner.PostAsJsonAsync("/okap/account/login", new { user_name = "alice", password = "correct horse battery" })).EnsureSuccessStatusCode();

        var tokens = await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens");
        Assert.Equal("expired", tokens!["items"]!.AsArray().Single()!["status"]!.GetValue<string>());
    }
}
