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
}
