
namespace Okap.Testing.Behaviour;

/// <summary>Owners of one vault cannot see or touch each other's resources; apps reach the vault their host name names.</summary>
public abstract class OwnerIsolationBehaviour(BehaviourPass pass)
{
    [PassFact]
    public async Task Another_owner_gets_404_for_each_of_my_resources_by_every_route()
    {
        var alice = await pass.Shared.SignUpAsync();
        var bob = (await pass.Shared.SignUpAsync()).Admin;
        var appName = "Isolated " + Guid.NewGuid().ToString("N")[..8];

        // Alice's resources: a pending request, an approved one with a token, a key, a policy, an access key.
        var app = alice.App();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec(appName))).JsonAsync();
        var pendingId = pending["request_id"]!.GetValue<string>();
        var second = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec(appName))).JsonAsync();
        await alice.ApproveAsync(second["request_id"]!.GetValue<string>());
        (await app.GetAsync(new Uri(second["poll_url"]!.GetValue<string>()).PathAndQuery)).EnsureSuccessStatusCode();
        var tokenId = (await alice.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();
        await alice.SetKeyAsync("sk-alice-master-key-1234");
        var policyId = (await (await alice.Admin.PostAsJsonAsync("/okap/admin/policies", new { name = "p", app_name = "nobody", providers = new[] { "openai" } })).JsonAsync())["id"]!.GetValue<string>();
        var patId = (await (await alice.Admin.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli", scopes = new[] { "read", "approve", "keys" } })).JsonAsync())["key"]!["id"]!.GetValue<string>();

        var attempts = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, $"/okap/admin/requests/{pendingId}", null),
            (HttpMethod.Post, $"/okap/admin/requests/{pendingId}/approve", null),
            (HttpMethod.Post, $"/okap/admin/requests/{pendingId}/deny", null),
            (HttpMethod.Get, $"/okap/admin/tokens/{tokenId}", null),
            (HttpMethod.Post, $"/okap/admin/tokens/{tokenId}/revoke", null),
            (HttpMethod.Get, $"/okap/admin/tokens/{tokenId}/usage", null),
            (HttpMethod.Delete, "/okap/admin/keys/openai", null),
            (HttpMethod.Put, $"/okap/admin/policies/{policyId}", new { name = "stolen", providers = new[] { "openai" } }),
            (HttpMethod.Delete, $"/okap/admin/policies/{policyId}", null),
            (HttpMethod.Delete, $"/okap/admin/access-keys/{patId}", null),
        };
        foreach (var (method, path, body) in attempts)
        {
            using var message = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            var response = await bob.SendAsync(message);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path} gave {(int)response.StatusCode}");
        }

        // Listings show Bob nothing of Alice's.
        foreach (var list in new[] { "/okap/admin/requests", "/okap/admin/tokens", "/okap/admin/audit" })
        {
            var items = (await bob.GetFromJsonAsync<JsonObject>(list))!["items"]!.AsArray();
            Assert.DoesNotContain(items, i => i!.ToJsonString().Contains(appName));
        }
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/policies"))!);
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!);
        Assert.Empty((await bob.GetFromJsonAsync<JsonObject>("/okap/admin/usage"))!["rows"]!.AsArray());

        // And Alice's resources are untouched.
        Assert.Equal("pending", (await alice.Admin.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{pendingId}"))!["status"]!.GetValue<string>());
        Assert.Equal("active", (await alice.Admin.GetFromJsonAsync<JsonObject>($"/okap/admin/tokens/{tokenId}"))!["status"]!.GetValue<string>());
        Assert.Single((await alice.Admin.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);
        Assert.Equal("p", (await alice.Admin.GetFromJsonAsync<JsonArray>("/okap/admin/policies"))!.Single()!["name"]!.GetValue<string>());
    }

    [PassFact]
    public async Task Requests_reach_the_vault_named_by_the_host_as_the_python_sdk_builds_the_url()
    {
        var alice = await pass.Shared.SignUpAsync();
        var bob = await pass.Shared.SignUpAsync();

        // The SDK does urljoin(vault_url, "/okap/request"): an absolute path replaces any path in the vault URL.
        var sdkUrl = new Uri(new Uri($"http://{alice.HostName}/some/vault/path/"), "/okap/request");
        Assert.Equal($"http://{alice.HostName}/okap/request", sdkUrl.ToString());
        var held = alice.App().PostAsJsonAsync(sdkUrl.PathAndQuery, Bodies.Sdk(app: "Addressed App"));
        await alice.PendingIdAsync("Addressed App");

        Assert.Single((await alice.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/requests"))!["items"]!.AsArray());
        Assert.Empty((await bob.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/requests"))!["items"]!.AsArray());

        var unknown = await pass.Shared.Client($"nobody-{Guid.NewGuid():N}"[..20] + "." + BehaviourPass.BaseDomain).PostAsJsonAsync("/okap/request", Bodies.Sdk());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("unknown_vault", (await unknown.JsonAsync())["error"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await pass.Shared.Client(BehaviourPass.BaseDomain).PostAsJsonAsync("/okap/request", Bodies.Sdk())).StatusCode);

        // A spec client polls exactly the poll_url it was given: it names Alice's host, so it reaches her vault.
        var pending = await (await alice.App().PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var pollUrl = new Uri(pending["poll_url"]!.GetValue<string>());
        Assert.Equal(alice.HostName, pollUrl.Host);
        Assert.Equal(HttpStatusCode.Accepted, (await pass.Shared.Client(pollUrl.Host).GetAsync(pollUrl.PathAndQuery)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.App().GetAsync(pollUrl.PathAndQuery)).StatusCode);

        Assert.Equal("pending_approval", (await (await held).JsonAsync())["error_code"]!.GetValue<string>());

        var session = await alice.Admin.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal($"http://{alice.HostName}:{new Uri(pass.Shared.Url).Port}", session!["vault_url"]!.GetValue<string>());
    }
}

/// <summary>The web page, its assets and the OpenAPI document.</summary>
public abstract class PageBehaviour(BehaviourPass pass)
{
    [PassFact]
    public async Task Page_and_assets_are_served_with_a_strict_content_security_policy_and_no_framing()
    {
        var client = pass.Single.Client();
        foreach (var (path, type) in new[] { ("/", "text/html"), ("/assets/app.js", "text/javascript"), ("/assets/app.css", "text/css") })
        {
            var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode}");
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        }
        var page = await client.GetAsync("/");
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("/assets/app.js", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/assets/missing.js")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/okap/health")).StatusCode);
    }

    [PassFact]
    public async Task OpenApi_document_lists_the_admin_api()
    {
        var doc = await pass.Single.Client().GetStringAsync("/okap/okap.json");
        Assert.Contains("/okap/admin/tokens/{id}/revoke", doc);
        Assert.Contains("/okap/request", doc);
        // Schemas carry the wire names the handlers write.
        Assert.Contains("\"display_prefix\"", doc);
        Assert.Contains("\"authorization_details\"", doc);
    }
}
