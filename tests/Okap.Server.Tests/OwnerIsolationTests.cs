using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Okap.Testing.Vaults;

namespace Okap.Server.Tests;

/// <summary>
/// Owner isolation that needs a vault of its own (operator configuration reloaded, a default owner); the rest of
/// owner isolation is in the behaviour suite (tests/Okap.Testing/Behaviour), run on every host.
/// </summary>
public sealed class OwnerIsolationTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public OwnerIsolationTests() => _vault.Settings["Okap:Addressing:BaseDomain"] = "vault.test";

    public void Dispose() => _vault.Dispose();

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
