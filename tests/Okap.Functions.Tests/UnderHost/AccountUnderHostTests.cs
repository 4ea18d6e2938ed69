using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>Setup, sign-in with cookies and anti-forgery, and personal access keys, through the real Functions host.</summary>
[Collection(UnderHostCollection.Name)]
public sealed class AccountUnderHostTests(HostedVaults vaults)
{
    [HostFact]
    public async Task Sample_settings_start_a_vault_that_prints_its_setup_link_through_the_host_console()
    {
        var owner = await vaults.OwnerAsync();

        Assert.StartsWith($"{vaults.Sample.Url}/#/setup?token=setup_", vaults.SetupLink);
        var output = vaults.Sample.Output;
        // The worker's console reaches the host as Host.Function.Console; host.json must keep it at Information.
        Assert.Contains("Host.Function.Console", output);
        Assert.Contains("provider keys are encrypted with ASP.NET Core Data Protection in Table Storage", output);
        var session = await owner.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal("owner", session!["user_name"]!.GetValue<string>());

        // The link works once, and registration stays closed.
        var stranger = HostedVaults.Client(vaults.Sample);
        var reused = await stranger.PostAsJsonAsync("/okap/account/setup", new { setup_token = vaults.SetupLink!.Split("token=")[1], user_name = "mallory", password = HostedVaults.Password });
        Assert.Equal(HttpStatusCode.BadRequest, reused.StatusCode);
        var state = await stranger.GetAsync("/okap/account/session");
        Assert.Equal(HttpStatusCode.Unauthorized, state.StatusCode);
        Assert.False((await state.JsonAsync())["setup_required"]!.GetValue<bool>());
    }

    [HostFact]
    public async Task Sign_in_sets_an_http_only_same_site_cookie_and_cookie_changes_need_the_anti_forgery_header()
    {
        await vaults.OwnerAsync();
        var client = HostedVaults.Client(vaults.Sample);
        var login = await client.PostAsJsonAsync("/okap/account/login", new { user_name = "owner", password = HostedVaults.Password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("okap_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        var forged = await client.PostAsJsonAsync("/okap/admin/access-keys", new { name = "no csrf" });
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal("csrf_failed", (await forged.JsonAsync())["error"]!["type"]!.GetValue<string>());

        await HostedVaults.ArmCsrfAsync(client);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/okap/admin/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/okap/account/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/okap/admin/tokens")).StatusCode);

        var wrong = await HostedVaults.Client(vaults.Sample).PostAsJsonAsync("/okap/account/login", new { user_name = "owner", password = "not the password" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [HostFact]
    public async Task Personal_access_key_works_without_a_browser_until_revoked()
    {
        var owner = await vaults.OwnerAsync();
        var created = await (await owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli" })).JsonAsync();
        var secret = created["secret"]!.GetValue<string>();
        Assert.StartsWith("okap_pat_", secret);

        var cli = HostedVaults.Client(vaults.Sample);
        cli.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await cli.GetAsync("/okap/admin/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await cli.PostAsJsonAsync("/okap/admin/policies", new { name = "cli made", app_name = "nobody", providers = new[] { "openai" } })).StatusCode);

        (await owner.DeleteAsync($"/okap/admin/access-keys/{created["key"]!["id"]}")).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.Unauthorized, (await cli.GetAsync("/okap/admin/tokens")).StatusCode);
    }

    [HostFact]
    public async Task Platform_principal_header_is_ignored_where_it_is_not_trusted()
    {
        await vaults.OwnerAsync();
        var client = HostedVaults.Client(vaults.Sample);
        client.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL", HostedVaults.Principal("oid-owner", "owner@example.com"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/okap/admin/tokens")).StatusCode);
    }
}
