using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Okap.Server.Tests;

/// <summary>The OpenAPI document says what the handlers really accept.</summary>
public sealed class OpenApiTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task OpenApi_document_marks_approve_and_deny_bodies_optional_as_the_handlers_accept_them()
    {
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var first = (await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync())["request_id"]!.GetValue<string>();
        var second = (await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync())["request_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"/okap/admin/requests/{first}/approve", new StringContent("{}", Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"/okap/admin/requests/{second}/deny", null)).StatusCode);

        var doc = JsonNode.Parse(await _vault.CreateClient().GetStringAsync("/okap/okap.json"))!;
        foreach (var action in new[] { "approve", "deny" })
        {
            var body = doc["paths"]![$"/okap/admin/requests/{{id}}/{action}"]!["post"]!["requestBody"]!;
            Assert.NotEqual(true, body["required"]?.GetValue<bool>());
        }
        var schemas = doc["components"]!["schemas"]!;
        Assert.Null(schemas["DecisionBody"]!["required"]);
        // A grant names its provider; everything else in it is optional.
        Assert.Equal(["provider"], schemas["GrantBody"]!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
    }
}
