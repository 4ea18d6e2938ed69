using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>The web page, its assets, the OpenAPI document and bad input, through the real Functions host.</summary>
[Collection(UnderHostCollection.Name)]
public sealed class PageAndInputUnderHostTests(HostedVaults vaults)
{
    [HostFact]
    public async Task Page_and_assets_are_served_with_a_strict_policy()
    {
        var client = HostedVaults.Client(vaults.Sample);
        foreach (var (path, type) in new[] { ("/", "text/html"), ("/assets/app.js", "text/javascript"), ("/assets/app.css", "text/css") })
        {
            var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("frame-ancestors 'none'", string.Join(";", response.Headers.GetValues("Content-Security-Policy")));
        }
        var page = await client.GetStringAsync("/");
        Assert.Contains("/assets/app.js", page);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/assets/missing.js")).StatusCode);

        var doc = await client.GetStringAsync("/okap/okap.json");
        Assert.Contains("/okap/admin/tokens/{id}/revoke", doc);
        Assert.Contains("/okap/request", doc);
    }

    [HostTheory]
    [InlineData("/okap/request", """{"okap":"1.0","provider":"nope","app_name":"a"}""", "provider")]
    [InlineData("/okap/request", """{"provider":"openai","limits":{"monthly_spend":-1}}""", "limits.monthly_spend")]
    [InlineData("/okap/request", """{"provider":"openai",""", "body")]
    [InlineData("/okap/authorize", """{"okap":"1.0","authorization_details":[],"client":{"name":"a"}}""", "authorization_details")]
    [InlineData("/okap/authorize", """{"authorization_details":[{"type":"ai_model_access","provider":"openai","base_url":"http://evil"}],"client":{"name":"a"}}""", "authorization_details[0].base_url")]
    public async Task Bad_request_gets_400_naming_the_field(string path, string json, string field)
    {
        await vaults.OwnerAsync();
        var response = await HostedVaults.Client(vaults.Sample).PostAsync(path, HostBodies.Raw(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("invalid_request", error["type"]!.GetValue<string>());
        Assert.Equal(field, error["param"]!.GetValue<string>());
    }

    [HostFact]
    public async Task Oversized_and_non_json_bodies_are_refused_before_any_work()
    {
        var client = HostedVaults.Client(vaults.Sample);
        var huge = "{\"provider\":\"openai\",\"reason\":\"" + new string('x', 70 * 1024) + "\"}";
        foreach (var path in new[] { "/okap/request", "/okap/authorize", "/okap/account/login" })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await client.PostAsync(path, HostBodies.Raw(huge))).StatusCode);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await client.PostAsync(path, HostBodies.Raw("provider=openai", "application/x-www-form-urlencoded"))).StatusCode);
        }
    }

    [HostFact]
    public async Task Admin_api_validates_bodies_and_needs_a_signed_in_owner()
    {
        var owner = await vaults.OwnerAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await HostedVaults.Client(vaults.Sample).GetAsync("/okap/admin/requests")).StatusCode);

        var key = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "" });
        Assert.Equal("key", (await key.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var policy = await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "p", providers = Array.Empty<string>() });
        Assert.Equal("providers", (await policy.JsonAsync())["error"]!["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.GetAsync("/okap/admin/requests?status=weird")).StatusCode);

        // Keys show only their last four characters; the listing, audit and usage answer.
        var keys = (await owner.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!;
        var openai = keys.Single(k => k!["provider"]!.GetValue<string>() == "openai")!;
        Assert.Equal(HostedVaults.MasterKey[^4..], openai["last4"]!.GetValue<string>());
        Assert.DoesNotContain(HostedVaults.MasterKey, keys.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/okap/admin/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/okap/admin/usage")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/okap/admin/prices")).StatusCode);
    }
}
