using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Okap.Server.Tests;

public sealed class OwnerIsolationTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public OwnerIsolationTests() => _vault.Settings["Okap:Addressing:BaseDomain"] = "vault.test";

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Another_owner_gets_404_for_each_of_my_resources_by_every_route()
    {
        var alice = await _vault.SignUpAsync("alice", "alice.vault.test");
        var bob = await _vault.SignUpAsync("bob", "bob.vault.test");

        // Alice's resources: a pending request, an approved one with a token, a key, a policy, an access key.
        var app = _vault.ClientFor("alice.vault.test");
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var pendingId = pending["request_id"]!.GetValue<string>();
        var second = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        (await alice.PostAsync($"/okap/admin/requests/{second["request_id"]}/approve", null)).EnsureSuccessStatusCode();
        (await app.GetAsync(new Uri(second["poll_url"]!.GetValue<string>()).PathAndQuery)).EnsureSuccessStatusCode();
        var tokenId = (await alice.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();
        (await alice.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-alice-master-key-1234" })).EnsureSuccessStatusCode();
        var policyId = (await (await alice.PostAsJsonAsync("/okap/admin/policies", new { name = "p", app_name = "nobody", providers = new[] { "openai" } })).JsonAsync())["id"]!.GetValue<string>();
        var patId = (await (await alice.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli" })).JsonAsync())["key"]!["id"]!.GetValue<string>();

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
            var message = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            var response = await bob.SendAsync(message);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path} gave {(int)response.StatusCode}");
        }

        // Listings show Bob nothing of Alice's.
        foreach (var list in new[] { "/okap/admin/requests", "/okap/admin/tokens", "/okap/admin/audit" })
        {
            var items = (await bob.GetFromJsonAsync<JsonObject>(list))!["items"]!.AsArray();
            Assert.DoesNotContain(items, i => i!.ToJsonString().Contains("Example App"));
        }
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/policies"))!);
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!);
        Assert.Empty((await bob.GetFromJsonAsync<JsonObject>("/okap/admin/usage"))!["rows"]!.AsArray());

        // And Alice's resources are untouched.
        Assert.Equal("pending", (await alice.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{pendingId}"))!["status"]!.GetValue<string>());
        Assert.Equal("active", (await alice.GetFromJsonAsync<JsonObject>($"/okap/admin/tokens/{tokenId}"))!["status"]!.GetValue<string>());
        Assert.Single((await alice.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);
        Assert.Equal("p", (await alice.GetFromJsonAsync<JsonArray>("/okap/admin/policies"))!.Single()!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Requests_reach_the_vault_named_by_the_host_as_the_python_sdk_builds_the_url()
    {
        var alice = await _vault.SignUpAsync("alice", "alice.vault.test");
        var bob = await _vault.SignUpAsync("bob", "bob.vault.test");

        // The SDK does urljoin(vault_url, "/okap/request"): an absolute path replaces any path in the vault URL.
        var sdkUrl = new Uri(new Uri("http://alice.vault.test/some/vault/path/"), "/okap/request");
        Assert.Equal("http://alice.vault.test/okap/request", sdkUrl.ToString());
        var app = _vault.ClientFor("alice.vault.test");
        (await app.PostAsJsonAsync(sdkUrl, Bodies.Sdk())).EnsureSuccessStatusCode();

        Assert.Single((await alice.GetFromJsonAsync<JsonObject>("/okap/admin/requests"))!["items"]!.AsArray());
        Assert.Empty((await bob.GetFromJsonAsync<JsonObject>("/okap/admin/requests"))!["items"]!.AsArray());

        var unknown = await _vault.ClientFor("carol.vault.test").PostAsJsonAsync("/okap/request", Bodies.Sdk());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("unknown_vault", (await unknown.JsonAsync())["error"]!["type"]!.GetValue<string>());
        var bare = await _vault.ClientFor("vault.test").PostAsJsonAsync("/okap/request", Bodies.Sdk());
        Assert.Equal(HttpStatusCode.NotFound, bare.StatusCode);

        // A spec client polls exactly the poll_url it was given: it names Alice's host, so it reaches her vault.
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var pollUrl = new Uri(pending["poll_url"]!.GetValue<string>());
        Assert.Equal("alice.vault.test", pollUrl.Host);
        Assert.Equal(HttpStatusCode.Accepted, (await _vault.ClientFor(pollUrl.Host).GetAsync(pollUrl.PathAndQuery)).StatusCode);

        var session = await alice.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal("http://alice.vault.test", session!["vault_url"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_managed_identity_upstream_is_refused_unless_the_operator_granted_that_owner_that_host()
    {
        var alice = await _vault.SignUpAsync("alice", "alice.vault.test");
        var bob = await _vault.SignUpAsync("bob", "bob.vault.test");
        var aliceId = (await alice.GetFromJsonAsync<JsonObject>("/okap/account/session"))!["owner_id"]!.GetValue<string>();
        // The operator grants alice her resource (configuration reloads as appsettings.json would).
        var config = (IConfigurationRoot)_vault.Services.GetRequiredService<IConfiguration>();
        config[$"Okap:ManagedIdentity:Owners:{aliceId}:Hosts:0"] = "alice-res.openai.azure.com";
        config.Reload();

        static object Mi(string url) => new { auth_kind = "managed-identity", base_url = url };
        var aliceResource = "https://alice-res.openai.azure.com/openai/v1";
        (await alice.PutAsJsonAsync("/okap/admin/keys/openai", Mi(aliceResource))).EnsureSuccessStatusCode();

        var refusals = new (HttpClient Owner, string Url, string Why)[]
        {
            (bob, aliceResource, "operator has not allowed"),
            (alice, "https://bob-res.openai.azure.com/openai/v1", "is not one the vault's operator allowed"),
            (alice, "https://alice-res.openai.azure.com./openai/v1", "must not end with a dot"),
        };
        foreach (var (owner, url, why) in refusals)
        {
            var res = await owner.PutAsJsonAsync("/okap/admin/keys/openai", Mi(url));
            Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
            var error = (await res.JsonAsync())["error"]!;
            Assert.Equal("invalid_request", (string?)error["type"]);
            Assert.Contains(why, (string?)error["message"]);
        }
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);
    }

    [Fact]
    public async Task A_fully_qualified_host_with_a_trailing_dot_reaches_the_same_owner_not_the_default_one()
    {
        _vault.Settings["Okap:Addressing:DefaultOwnerSlug"] = "bob";
        var alice = await _vault.SignUpAsync("alice", "alice.vault.test");
        var bob = await _vault.SignUpAsync("bob", "bob.vault.test");

        (await _vault.ClientFor("alice.vault.test.").PostAsJsonAsync("/okap/request", Bodies.Sdk())).EnsureSuccessStatusCode();
        Assert.Single((await alice.GetFromJsonAsync<JsonObject>("/okap/admin/requests"))!["items"]!.AsArray());
        Assert.Empty((await bob.GetFromJsonAsync<JsonObject>("/okap/admin/requests"))!["items"]!.AsArray());
        var unknown = await _vault.ClientFor("carol.vault.test.").PostAsJsonAsync("/okap/request", Bodies.Sdk());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}
