using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>Both OKAP request shapes, the bounded wait and the poll, through the real Functions host (wait: 4 s).</summary>
[Collection(UnderHostCollection.Name)]
public sealed class OkapShapesUnderHostTests(HostedVaults vaults)
{
    private static string App() => "App " + Guid.NewGuid().ToString("N")[..8];

    private static async Task<string> PendingIdAsync(HttpClient owner, string app)
    {
        for (var i = 0; i < 100; i++)
        {
            var items = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=pending"))!["items"]!.AsArray();
            if (items.FirstOrDefault(r => r!["app_name"]?.GetValue<string>() == app) is { } found) return found["id"]!.GetValue<string>();
            await Task.Delay(50);
        }
        throw new TimeoutException($"no pending request of {app}");
    }

    [HostFact]
    public async Task Sdk_request_held_by_the_bounded_wait_receives_the_token_when_the_owner_approves()
    {
        var owner = await vaults.OwnerAsync();
        var app = App();
        var waiting = HostedVaults.Client(vaults.Sample).PostAsJsonAsync("/okap/request", HostBodies.Sdk(app));
        var id = await PendingIdAsync(owner, app);
        Assert.False(waiting.IsCompleted);
        (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).EnsureSuccessStatusCode();

        var body = await (await waiting).JsonAsync();
        Assert.True(body["approved"]!.GetValue<bool>());
        var token = body["token"]!.AsObject();
        Assert.StartsWith("okap_", token["token"]!.GetValue<string>());
        Assert.Equal($"{vaults.Sample.Url}/v1/openai", token["base_url"]!.GetValue<string>());
        Assert.Equal(["gpt-4o-mini", "gpt-4"], token["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.NotNull((await owner.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{id}"))!["claimed_at"]);
    }

    [HostFact]
    public async Task Sdk_request_not_decided_within_the_wait_replies_pending_with_where_to_approve()
    {
        await vaults.OwnerAsync();
        var clock = Stopwatch.StartNew();
        var response = await HostedVaults.Client(vaults.Sample).PostAsJsonAsync("/okap/request", HostBodies.Sdk(App()));
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.False(body["approved"]!.GetValue<bool>());
        Assert.Equal("pending_approval", body["error_code"]!.GetValue<string>());
        Assert.Contains($"{vaults.Sample.Url}/#/requests/req_", body["error"]!.GetValue<string>());
        // Held for the configured wait (4 s) through the host, not answered at once.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(3.5), $"replied after {clock.Elapsed}");
    }

    [HostFact]
    public async Task Denied_sdk_request_replies_access_denied_with_the_reason()
    {
        var owner = await vaults.OwnerAsync();
        var app = App();
        var waiting = HostedVaults.Client(vaults.Sample).PostAsJsonAsync("/okap/request", HostBodies.Sdk(app));
        var id = await PendingIdAsync(owner, app);
        (await owner.PostAsJsonAsync($"/okap/admin/requests/{id}/deny", new { reason = "Not this app" })).EnsureSuccessStatusCode();

        var body = await (await waiting).JsonAsync();
        Assert.False(body["approved"]!.GetValue<bool>());
        Assert.Equal("access_denied", body["error_code"]!.GetValue<string>());
        Assert.Equal("Not this app", body["error"]!.GetValue<string>());
    }

    [HostFact]
    public async Task Spec_poll_with_wait_returns_the_narrowed_grant_as_soon_as_the_owner_approves_and_only_once()
    {
        var owner = await vaults.OwnerAsync();
        var app = HostedVaults.Client(vaults.Sample);
        var appName = App();
        var response = await app.PostAsJsonAsync("/okap/authorize", HostBodies.Spec(appName, "openai", "anthropic"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var pending = await response.JsonAsync();
        Assert.Equal("pending", pending["status"]!.GetValue<string>());
        var id = pending["request_id"]!.GetValue<string>();
        var pollUrl = new Uri(pending["poll_url"]!.GetValue<string>());
        Assert.StartsWith($"{vaults.Sample.Url}/okap/authorize/{id}?handle=okap_poll_", pollUrl.ToString());

        var poll = app.GetAsync(pollUrl.PathAndQuery + "&wait=20");
        await Task.Delay(500);
        Assert.False(poll.IsCompleted);
        var approve = await owner.PostAsJsonAsync($"/okap/admin/requests/{id}/approve", new
        {
            grants = new[] { new { provider = "openai", models = new[] { "gpt-4" }, capabilities = new[] { "chat" }, limits = new { monthly_spend = 2.5 } } },
        });
        Assert.Equal(HttpStatusCode.OK, approve.StatusCode);

        var granted = await poll;
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        var body = await granted.JsonAsync();
        Assert.Equal("granted", body["status"]!.GetValue<string>());
        Assert.StartsWith("okap_", body["token"]!.GetValue<string>());
        var detail = body["authorization_details"]!.AsArray().Single()!;
        Assert.Equal("openai", detail["provider"]!.GetValue<string>());
        Assert.Equal(2.5m, detail["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal($"{vaults.Sample.Url}/v1/openai", detail["base_url"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.Gone, (await app.GetAsync(pollUrl.PathAndQuery)).StatusCode);
    }

    [HostFact]
    public async Task Poll_with_a_wrong_handle_finds_nothing_and_a_denial_polls_as_denied()
    {
        var owner = await vaults.OwnerAsync();
        var app = HostedVaults.Client(vaults.Sample);
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", HostBodies.Spec(App()))).JsonAsync();
        var id = pending["request_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync($"/okap/authorize/{id}?handle=okap_poll_guess")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.GetAsync($"/okap/authorize/{id}")).StatusCode);

        (await owner.PostAsync($"/okap/admin/requests/{id}/deny", null)).EnsureSuccessStatusCode();
        var body = await (await app.GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery)).JsonAsync();
        Assert.Equal("denied", body["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).StatusCode);
    }
}
