using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core.Services;

namespace Okap.Server.Tests;

public sealed class AccountTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task First_account_needs_the_one_time_setup_link_when_registration_is_closed()
    {
        _vault.Settings["Okap:Auth:AllowRegistration"] = "false";
        var client = _vault.ClientFor();
        var state = await client.GetAsync("/okap/account/session");
        Assert.Equal(HttpStatusCode.Unauthorized, state.StatusCode);
        Assert.True((await state.JsonAsync())["setup_required"]!.GetValue<bool>());

        var noToken = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = "alice", password = "correct horse battery" });
        Assert.Equal("setup_token", (await noToken.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var token = await _vault.Services.GetRequiredService<AccountService>().IssueSetupTokenAsync(CancellationToken.None);
        var created = await client.PostAsJsonAsync("/okap/account/setup", new { setup_token = token, user_name = "alice", password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/okap/account/session")).StatusCode);

        var reused = await _vault.ClientFor().PostAsJsonAsync("/okap/account/setup", new { setup_token = token, user_name = "mallory", password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.BadRequest, reused.StatusCode);
        Assert.Null(await _vault.Services.GetRequiredService<AccountService>().IssueSetupTokenAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_mistake_in_the_setup_form_does_not_use_up_the_link()
    {
        _vault.Settings["Okap:Auth:AllowRegistration"] = "false";
        var token = await _vault.Services.GetRequiredService<AccountService>().IssueSetupTokenAsync(CancellationToken.None);
        var client = _vault.ClientFor();
        var typo = await client.PostAsJsonAsync("/okap/account/setup", new { setup_token = token, user_name = "alice", password = "short" });
        Assert.Equal("password", (await typo.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var created = await client.PostAsJsonAsync("/okap/account/setup", new { setup_token = token, user_name = "alice", password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    [Fact]
    public async Task Parallel_guesses_cannot_slip_past_the_lockout()
    {
        await _vault.SignUpAsync("alice");
        var guesses = Enumerable.Range(0, 12).Select(i => _vault.ClientFor().PostAsJsonAsync("/okap/account/login", new { user_name = "alice", password = $"guess number {i}" }));
        var statuses = (await Task.WhenAll(guesses)).Select(r => r.StatusCode).ToArray();
        Assert.Equal(4, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal((HttpStatusCode)423, (await _vault.ClientFor().PostAsJsonAsync("/okap/account/login", new { user_name = "alice", password = "correct horse battery" })).StatusCode);
    }

    [Fact]
    public async Task Short_passwords_and_bad_user_names_are_refused()
    {
        var client = _vault.ClientFor();
        var shortPassword = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = "alice", password = "short" });
        Assert.Equal("password", (await shortPassword.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var badName = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = "Alice Smith!", password = "correct horse battery" });
        Assert.Equal("user_name", (await badName.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sign_in_locks_out_after_five_failures_even_with_the_right_password()
    {
        await _vault.SignUpAsync("alice");
        var client = _vault.ClientFor();
        for (var i = 0; i < 4; i++)
        {
            var failed = await client.PostAsJsonAsync("/okap/account/login", new { user_name = "alice", password = "wrong password!" });
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }
        Assert.Equal((HttpStatusCode)423, (await client.PostAsJsonAsync("/okap/account/login", new { user_name = "alice", password = "wrong password!" })).StatusCode);
        Assert.Equal((HttpStatusCode)423, (await client.PostAsJsonAsync("/okap/account/login", new { user_name = "alice", password = "correct horse battery" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/okap/account/session")).StatusCode);
    }

    [Fact]
    public async Task Sign_in_sets_a_http_only_same_site_cookie_and_sign_out_ends_it()
    {
        await _vault.SignUpAsync("alice");
        var client = _vault.ClientFor();
        var login = await client.PostAsJsonAsync("/okap/account/login", new { user_name = "Alice", password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("okap_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        await VaultFactory.ArmCsrfAsync(client);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/okap/account/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/okap/admin/tokens")).StatusCode);
    }

    [Fact]
    public async Task Cookie_authenticated_changes_need_the_anti_forgery_header()
    {
        var owner = await _vault.SignUpAsync("alice");
        owner.DefaultRequestHeaders.Remove("X-CSRF-TOKEN");
        var response = await owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli" });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("csrf_failed", (await response.JsonAsync())["error"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/okap/admin/access-keys")).StatusCode);
    }

    [Fact]
    public async Task Personal_access_key_works_without_a_browser_until_revoked()
    {
        var owner = await _vault.SignUpAsync("alice");
        var created = await (await owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli" })).JsonAsync();
        var secret = created["secret"]!.GetValue<string>();
        Assert.StartsWith("okap_pat_", secret);
        var listed = (await owner.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!.Single()!;
        Assert.DoesNotContain(secret, listed.ToJsonString());

        var cli = _vault.CreateClient();
        cli.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await cli.GetAsync("/okap/admin/tokens")).StatusCode);
        // No anti-forgery needed: the key is not a browser credential.
        Assert.Equal(HttpStatusCode.Created, (await cli.PostAsJsonAsync("/okap/admin/policies", new { name = "cli made", providers = new[] { "openai" } })).StatusCode);

        (await owner.DeleteAsync($"/okap/admin/access-keys/{created["key"]!["id"]}")).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.Unauthorized, (await cli.GetAsync("/okap/admin/tokens")).StatusCode);
        var forged = _vault.CreateClient();
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "okap_pat_" + new string('A', 43));
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/okap/admin/tokens")).StatusCode);
    }

    private static string Principal(string subject, string name) => Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject
    {
        ["auth_typ"] = "aad",
        ["claims"] = new JsonArray(
            new JsonObject { ["typ"] = "http://schemas.microsoft.com/identity/claims/objectidentifier", ["val"] = subject },
            new JsonObject { ["typ"] = "name", ["val"] = name }),
    }.ToJsonString()));

    [Fact]
    public async Task App_service_principal_header_is_ignored_unless_configured_as_trusted()
    {
        var client = _vault.CreateClient();
        client.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL", Principal("oid-1", "alice@example.com"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/okap/admin/tokens")).StatusCode);
    }

    [Fact]
    public async Task Trusted_app_service_principal_signs_in_one_owner_per_identity()
    {
        _vault.Settings["Okap:Auth:TrustAppServicePrincipal"] = "true";
        var alice = _vault.CreateClient();
        alice.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL", Principal("oid-alice", "alice@example.com"));
        var session = await alice.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal("appservice", session!["auth_method"]!.GetValue<string>());
        Assert.Equal("alice", session["user_name"]!.GetValue<string>());
        Assert.Equal(session["owner_id"]!.GetValue<string>(), (await alice.GetFromJsonAsync<JsonObject>("/okap/account/session"))!["owner_id"]!.GetValue<string>());

        var bob = _vault.CreateClient();
        bob.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL", Principal("oid-bob", "alice@example.org"));
        var bobSession = await bob.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.NotEqual(session["owner_id"]!.GetValue<string>(), bobSession!["owner_id"]!.GetValue<string>());
        Assert.NotEqual("alice", bobSession["user_name"]!.GetValue<string>());
    }
}

public sealed class PlatformSessionTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Behind_the_platform_sign_in_the_session_points_at_it_and_needs_no_setup()
    {
        _vault.Settings["Okap:Auth:TrustAppServicePrincipal"] = "true";
        var state = await _vault.CreateClient().GetAsync("/okap/account/session");
        Assert.Equal(HttpStatusCode.Unauthorized, state.StatusCode);
        var body = await state.JsonAsync();
        Assert.False(body["setup_required"]!.GetValue<bool>());
        Assert.Equal("/.auth/login/aad?post_login_redirect_uri=/", body["platform_sign_in_url"]!.GetValue<string>());

        var local = await (await _vault.SignUpAsync("bob")).GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Null(local!["sign_out_url"]);
    }

    [Fact]
    public async Task Without_the_platform_the_session_offers_no_platform_sign_in()
    {
        var body = await (await _vault.CreateClient().GetAsync("/okap/account/session")).JsonAsync();
        Assert.True(body["setup_required"]!.GetValue<bool>());
        Assert.Null(body["platform_sign_in_url"]);
    }
}
