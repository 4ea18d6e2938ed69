using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace Okap.Server.Tests;

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
