using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>
/// App Service Authentication and per-person addresses through the real Functions host
/// (<c>Okap:Auth:TrustAppServicePrincipal=true</c>, <c>Okap:Addressing:BaseDomain=vault.test</c>). The host here cannot
/// run the platform's own sign-in middleware; the <c>X-MS-CLIENT-PRINCIPAL</c> header is what it would set.
/// </summary>
[Collection(UnderHostCollection.Name)]
public sealed class PlatformUnderHostTests(HostedVaults vaults)
{
    private async Task<(HttpClient Client, string UserName)> SignedInAsync(string objectId, string name)
    {
        var client = HostedVaults.Client(vaults.Platform);
        client.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL", HostedVaults.Principal(objectId, name));
        var session = await client.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal("appservice", session!["auth_method"]!.GetValue<string>());
        await HostedVaults.ArmCsrfAsync(client);
        return (client, session["user_name"]!.GetValue<string>());
    }

    [HostFact]
    public async Task Platform_principal_signs_in_one_owner_per_identity_and_no_setup_link_is_printed()
    {
        var (first, name) = await SignedInAsync("oid-carol", "carol@example.com");
        Assert.Equal("carol", name);
        var again = await first.GetFromJsonAsync<JsonObject>("/okap/account/session");
        var (other, otherName) = await SignedInAsync("oid-carol-2", "carol@example.org");
        var otherSession = await other.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.NotEqual(again!["owner_id"]!.GetValue<string>(), otherSession!["owner_id"]!.GetValue<string>());
        Assert.NotEqual("carol", otherName);

        var anonymous = await (await HostedVaults.Client(vaults.Platform).GetAsync("/okap/account/session")).JsonAsync();
        Assert.Equal("/.auth/login/aad?post_login_redirect_uri=/", anonymous["platform_sign_in_url"]!.GetValue<string>());
        Assert.DoesNotContain("/#/setup?token=", vaults.Platform.Output);
    }

    [HostFact]
    public async Task Owners_signed_in_by_the_platform_are_isolated_and_apps_reach_the_vault_their_host_names()
    {
        var (alice, aliceName) = await SignedInAsync("oid-alice", "alice@example.com");
        var (bob, bobName) = await SignedInAsync("oid-bob", "bob@example.com");

        // The Python SDK joins /okap/request onto the vault URL: the person is named by the Host header.
        var app = HostedVaults.Client(vaults.Platform, $"{aliceName}.vault.test");
        (await app.PostAsJsonAsync("/okap/request", HostBodies.Sdk("Isolation App"))).EnsureSuccessStatusCode();
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", HostBodies.Spec("Isolation App"))).JsonAsync();
        var requestId = pending["request_id"]!.GetValue<string>();
        Assert.Equal($"{aliceName}.vault.test", new Uri(pending["poll_url"]!.GetValue<string>()).Host);
        (await alice.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-alice-platform-key-1234" })).EnsureSuccessStatusCode();

        Assert.Equal(2, (await alice.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=pending"))!["items"]!.AsArray().Count);
        Assert.Empty((await bob.GetFromJsonAsync<JsonObject>("/okap/admin/requests"))!["items"]!.AsArray());
        Assert.Empty((await bob.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/okap/admin/requests/{requestId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsync($"/okap/admin/requests/{requestId}/approve", null)).StatusCode);
        Assert.Equal("pending", (await alice.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{requestId}"))!["status"]!.GetValue<string>());

        var unknown = await HostedVaults.Client(vaults.Platform, "nobody-here.vault.test").PostAsJsonAsync("/okap/request", HostBodies.Sdk("Isolation App"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("unknown_vault", (await unknown.JsonAsync())["error"]!["type"]!.GetValue<string>());
        Assert.NotEqual(aliceName, bobName);
    }

    [HostFact]
    public async Task Local_accounts_still_sign_in_with_cookies_beside_the_platform()
    {
        var client = HostedVaults.Client(vaults.Platform);
        var created = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = "dave", password = HostedVaults.Password });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var session = await client.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal("dave", session!["user_name"]!.GetValue<string>());
        Assert.Null(session["sign_out_url"]);
    }
}
