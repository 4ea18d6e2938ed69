using System.Net.Http.Headers;

namespace Okap.Testing.Behaviour;

/// <summary>Setup with the one-time link, sign-in with cookies and anti-forgery, no lockout, and personal access keys.</summary>
public abstract class AccountBehaviour(BehaviourPass pass)
{
    [PassFact]
    public async Task First_account_needs_the_one_time_setup_link_and_registration_stays_closed()
    {
        var owner = await pass.SingleOwnerAsync();
        Assert.StartsWith("setup_", pass.SingleSetupToken);
        var session = await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal("owner", session!["user_name"]!.GetValue<string>());

        var stranger = pass.Single.Client();
        var reused = await stranger.PostAsJsonAsync("/okap/account/setup", new { setup_token = pass.SingleSetupToken, user_name = "mallory", password = VaultUnderTest.Password });
        Assert.Equal(HttpStatusCode.BadRequest, reused.StatusCode);
        Assert.Equal("setup_token", (await reused.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var noToken = await stranger.PostAsJsonAsync("/okap/account/setup", new { user_name = "mallory", password = VaultUnderTest.Password });
        Assert.Equal("setup_token", (await noToken.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var state = await stranger.GetAsync("/okap/account/session");
        Assert.Equal(HttpStatusCode.Unauthorized, state.StatusCode);
        var body = await state.JsonAsync();
        Assert.False(body["setup_required"]!.GetValue<bool>());
        Assert.Null(body["platform_sign_in_url"]);
    }

    [PassFact]
    public async Task Sign_in_sets_an_http_only_same_site_cookie_and_sign_out_ends_it()
    {
        var owner = await pass.Shared.SignUpAsync();
        var client = pass.Shared.Client();
        // User names are matched without regard to case.
        var login = await client.PostAsJsonAsync("/okap/account/login", new { user_name = owner.UserName.ToUpperInvariant(), password = VaultUnderTest.Password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("okap_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        await VaultUnderTest.ArmCsrfAsync(client);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/okap/admin/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync("/okap/account/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/okap/admin/tokens")).StatusCode);

        var wrong = await pass.Shared.Client().PostAsJsonAsync("/okap/account/login", new { user_name = owner.UserName, password = "not the password" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [PassFact]
    public async Task Cookie_authenticated_changes_need_the_anti_forgery_header()
    {
        var owner = await pass.Shared.SignUpAsync();
        owner.Admin.DefaultRequestHeaders.Remove("X-CSRF-TOKEN");
        var forged = await owner.Admin.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli", scopes = new[] { "read", "approve", "keys" } });
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal("csrf_failed", (await forged.JsonAsync())["error"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await owner.Admin.GetAsync("/okap/admin/access-keys")).StatusCode);

        await VaultUnderTest.ArmCsrfAsync(owner.Admin);
        Assert.Equal(HttpStatusCode.Created, (await owner.Admin.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli", scopes = new[] { "read", "approve", "keys" } })).StatusCode);
    }

    [PassFact]
    public async Task Personal_access_key_works_without_a_browser_until_revoked()
    {
        var owner = await pass.Shared.SignUpAsync();
        var created = await (await owner.Admin.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli", scopes = new[] { "read", "approve", "keys" } })).JsonAsync();
        var secret = created["secret"]!.GetValue<string>();
        Assert.StartsWith("okap_pat_", secret);
        var listed = (await owner.Admin.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!.Single()!;
        Assert.DoesNotContain(secret, listed.ToJsonString());

        var cli = pass.Shared.Client();
        cli.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await cli.GetAsync("/okap/admin/tokens")).StatusCode);
        // No anti-forgery needed: the key is not a browser credential.
        Assert.Equal(HttpStatusCode.Created, (await cli.PostAsJsonAsync("/okap/admin/policies", new { name = "cli made", app_name = "nobody", providers = new[] { "openai" } })).StatusCode);

        (await owner.Admin.DeleteAsync($"/okap/admin/access-keys/{created["key"]!["id"]}")).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.Unauthorized, (await cli.GetAsync("/okap/admin/tokens")).StatusCode);
        var forged = pass.Shared.Client();
        forged.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "okap_pat_" + new string('A', 43));
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/okap/admin/tokens")).StatusCode);
    }

    [PassFact]
    public async Task Common_and_patterned_passwords_are_refused_at_setup_without_being_echoed()
    {
        var client = pass.Shared.Client();
        var userName = VaultUnderTest.NewUserName();
        foreach (var weak in new[] { "P@ssw0rd2024!!", "qwertyuiop123", "abababababab", userName + "-2024!" })
        {
            var refused = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = userName, password = weak });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var text = await refused.Content.ReadAsStringAsync();
            Assert.Equal("password", System.Text.Json.Nodes.JsonNode.Parse(text)!["error"]!["param"]!.GetValue<string>());
            Assert.DoesNotContain(weak, text, StringComparison.OrdinalIgnoreCase);
        }
        // None of the refusals took the name: a strong password then creates the account.
        var created = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = userName, password = VaultUnderTest.Password });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    [PassFact]
    public async Task Short_passwords_and_bad_user_names_are_refused()
    {
        var client = pass.Shared.Client();
        var shortPassword = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = VaultUnderTest.NewUserName(), password = "short" });
        Assert.Equal("password", (await shortPassword.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var badName = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = "Alice Smith!", password = VaultUnderTest.Password });
        Assert.Equal("user_name", (await badName.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var owner = await pass.Shared.SignUpAsync();
        var taken = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = owner.UserName, password = VaultUnderTest.Password });
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
    }

    [PassFact]
    public async Task Failed_sign_ins_never_lock_the_account_and_read_the_same_for_names_that_do_not_exist()
    {
        var owner = await pass.Shared.SignUpAsync();
        var client = pass.Shared.Client();
        for (var i = 0; i < 7; i++)
        {
            var failed = await client.PostAsJsonAsync("/okap/account/login", new { user_name = owner.UserName, password = "wrong password!" });
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }
        var wrong = await (await client.PostAsJsonAsync("/okap/account/login", new { user_name = owner.UserName, password = "wrong password!" })).Content.ReadAsStringAsync();
        var unknown = await (await client.PostAsJsonAsync("/okap/account/login", new { user_name = VaultUnderTest.NewUserName("nobody"), password = "wrong password!" })).Content.ReadAsStringAsync();
        Assert.Equal(wrong, unknown);
        Assert.Contains("invalid_credentials", wrong);
        // Someone guessing at the name cannot lock its owner out: the right password still signs in.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/okap/account/login", new { user_name = owner.UserName, password = VaultUnderTest.Password })).StatusCode);
    }
}
