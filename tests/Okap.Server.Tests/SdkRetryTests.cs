using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Server.Tests;

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
