using System.Text.Json;
using OtpNet;

namespace Okap.Testing.Behaviour;

/// <summary>Server-side sessions (a copied cookie dies with its session), password change, and the authenticator app with recovery codes.</summary>
public abstract class SignInSecurityBehaviour(BehaviourPass pass)
{
    [PassFact]
    public async Task A_copied_cookie_stops_working_once_its_session_is_signed_out()
    {
        var owner = await pass.Shared.SignUpAsync();
        var copy = CopyOf(owner);
        Assert.Equal(HttpStatusCode.OK, (await copy.GetAsync("/okap/account/security")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Admin.PostAsync("/okap/account/logout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await copy.GetAsync("/okap/account/security")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await copy.GetAsync("/okap/admin/tokens")).StatusCode);
    }

    [PassFact]
    public async Task Sign_out_everywhere_ends_every_session_and_the_list_shows_each_one()
    {
        var owner = await pass.Shared.SignUpAsync();
        var laptop = await pass.Shared.SignInAsync(owner.UserName);
        var copy = CopyOf(owner);

        var security = await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/account/security");
        var sessions = security!["sessions"]!.AsArray();
        Assert.Equal(2, sessions.Count);
        Assert.Single(sessions, s => s!["current"]!.GetValue<bool>());
        Assert.All(sessions, s => Assert.Equal("password", s!["method"]!.GetValue<string>()));
        Assert.All(sessions, s => Assert.False(string.IsNullOrEmpty(s!["client_address"]?.GetValue<string>())));

        Assert.Equal(HttpStatusCode.NoContent, (await laptop.PostAsync("/okap/account/logout-everywhere", null)).StatusCode);
        foreach (var client in new[] { owner.Admin, laptop, copy })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/okap/account/session")).StatusCode);
        }
        var audit = await (await pass.Shared.SignInAsync(owner.UserName)).GetFromJsonAsync<JsonObject>("/okap/admin/audit");
        Assert.Contains(audit!["items"]!.AsArray(), e => e!["event"]!.GetValue<string>() == "account.signed_out_everywhere");
    }

    [PassFact]
    public async Task One_session_can_be_signed_out_from_another()
    {
        var owner = await pass.Shared.SignUpAsync();
        var other = await pass.Shared.SignInAsync(owner.UserName);
        var sessions = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/account/security"))!["sessions"]!.AsArray();
        var otherId = sessions.Single(s => !s!["current"]!.GetValue<bool>())!["id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Admin.DeleteAsync($"/okap/account/sessions/{otherId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.GetAsync("/okap/account/session")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.Admin.GetAsync("/okap/account/session")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Admin.DeleteAsync($"/okap/account/sessions/{otherId}")).StatusCode);
        // Another owner's session id is just unknown here.
        var stranger = await pass.Shared.SignUpAsync();
        var strangerSession = (await stranger.Admin.GetFromJsonAsync<JsonObject>("/okap/account/security"))!["sessions"]![0]!["id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Admin.DeleteAsync($"/okap/account/sessions/{strangerSession}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await stranger.Admin.GetAsync("/okap/account/session")).StatusCode);
    }

    [PassFact]
    public async Task Changing_the_password_needs_the_current_one_passes_the_policy_and_ends_the_other_sessions()
    {
        var owner = await pass.Shared.SignUpAsync();
        var other = await pass.Shared.SignInAsync(owner.UserName);
        const string newPassword = "a quieter violin at dusk";

        var wrong = await owner.Admin.PostAsJsonAsync("/okap/account/password", new { current_password = "not it at all", new_password = newPassword });
        Assert.Equal("current_password", (await wrong.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var weak = await owner.Admin.PostAsJsonAsync("/okap/account/password", new { current_password = VaultUnderTest.Password, new_password = "password123" });
        Assert.Equal("new_password", (await weak.JsonAsync())["error"]!["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/okap/account/session")).StatusCode);

        var changed = await owner.Admin.PostAsJsonAsync("/okap/account/password", new { current_password = VaultUnderTest.Password, new_password = newPassword });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.GetAsync("/okap/account/session")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.Admin.GetAsync("/okap/account/session")).StatusCode);

        var client = pass.Shared.Client();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/okap/account/login", new { user_name = owner.UserName, password = VaultUnderTest.Password })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/okap/account/login", new { user_name = owner.UserName, password = newPassword })).StatusCode);
    }

    [PassFact]
    public async Task An_authenticator_app_becomes_a_second_factor_and_each_recovery_code_works_once()
    {
        var owner = await pass.Shared.SignUpAsync();
        var refused = await owner.Admin.PostAsJsonAsync("/okap/account/totp/setup", new { password = "not my password" });
        Assert.Equal("password", (await refused.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var setup = await (await owner.Admin.PostAsJsonAsync("/okap/account/totp/setup", new { password = VaultUnderTest.Password })).JsonAsync();
        var secret = setup["secret"]!.GetValue<string>();
        Assert.StartsWith("otpauth://totp/OKAP%20Vault:" + owner.UserName + "?secret=" + secret, setup["otpauth_uri"]!.GetValue<string>());
        var totp = new Totp(Base32Encoding.ToBytes(secret));

        // Until confirmed, the password alone still signs in.
        Assert.Equal(HttpStatusCode.OK, (await Login(owner.UserName)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.Admin.PostAsJsonAsync("/okap/account/totp/confirm", new { code = "000000" == totp.ComputeTotp() ? "111111" : "000000" })).StatusCode);
        var confirmed = await owner.Admin.PostAsJsonAsync("/okap/account/totp/confirm", new { code = totp.ComputeTotp() });
        Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);
        var codes = (await confirmed.JsonAsync())["recovery_codes"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        Assert.Equal(10, codes.Distinct().Count());

        var passwordOnly = await Login(owner.UserName);
        Assert.Equal(HttpStatusCode.Unauthorized, passwordOnly.StatusCode);
        var error = (await passwordOnly.JsonAsync())["error"]!;
        Assert.Equal(("second_factor_required", "totp_code"), (error["type"]!.GetValue<string>(), error["param"]!.GetValue<string>()));
        Assert.False(passwordOnly.Headers.Contains("Set-Cookie"));
        // The code confirming set-up is spent; the next time step's code is accepted (one step of drift is allowed).
        Assert.Equal("invalid_second_factor", (await (await Login(owner.UserName, new { totp_code = totp.ComputeTotp() })).JsonAsync())["error"]!["type"]!.GetValue<string>());
        var nextCode = totp.ComputeTotp(DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await Login(owner.UserName, new { totp_code = nextCode })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login(owner.UserName, new { totp_code = nextCode })).StatusCode);
        // A wrong password with a right code says nothing about the code.
        Assert.Equal("invalid_credentials", (await (await Login(owner.UserName, new { totp_code = totp.ComputeTotp(DateTime.UtcNow.AddSeconds(30)) }, "wrong password!")).JsonAsync())["error"]!["type"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.OK, (await Login(owner.UserName, new { recovery_code = codes[3].ToUpperInvariant() })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login(owner.UserName, new { recovery_code = codes[3] })).StatusCode);
        var security = await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/account/security");
        Assert.True(security!["totp_enabled"]!.GetValue<bool>());
        Assert.Equal(9, security["recovery_codes_left"]!.GetValue<int>());

        var fresh = await (await owner.Admin.PostAsJsonAsync("/okap/account/recovery-codes", new { password = VaultUnderTest.Password })).JsonAsync();
        Assert.Equal(10, fresh["recovery_codes"]!.AsArray().Count);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Login(owner.UserName, new { recovery_code = codes[4] })).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Admin.PostAsJsonAsync("/okap/account/totp/disable", new { password = VaultUnderTest.Password })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Login(owner.UserName)).StatusCode);
        var events = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit"))!["items"]!.AsArray().Select(e => e!["event"]!.GetValue<string>()).ToArray();
        Assert.Contains("account.totp_enabled", events);
        Assert.Contains("account.totp_disabled", events);
        Assert.Contains("account.recovery_codes_generated", events);
        // The secret is kept protected, never in clear.
        Assert.DoesNotContain(secret, await pass.Shared.StoredTextAsync());
        Assert.DoesNotContain(codes[0], await pass.Shared.StoredTextAsync());
    }

    [PassFact]
    public async Task Access_keys_cannot_change_how_the_account_signs_in()
    {
        var owner = await pass.Shared.SignUpAsync();
        var made = await (await owner.Admin.PostAsJsonAsync("/okap/admin/access-keys", new { name = "ci", scopes = new[] { "read", "approve", "keys" } })).JsonAsync();
        var key = pass.Shared.Client(owner.HostName);
        key.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", made["secret"]!.GetValue<string>());
        foreach (var (method, path) in new[] { ("GET", "/okap/account/security"), ("POST", "/okap/account/logout-everywhere"), ("POST", "/okap/account/totp/setup"), ("POST", "/okap/account/password") })
        {
            var reply = await key.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(new { password = VaultUnderTest.Password }) });
            Assert.True(reply.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {(int)reply.StatusCode}");
        }
    }

    [PassFact]
    public async Task Wrong_codes_are_counted_per_owner_so_a_known_password_cannot_guess_the_code_from_many_addresses()
    {
        var owner = await pass.Shared.SignUpAsync();
        var setup = await (await owner.Admin.PostAsJsonAsync("/okap/account/totp/setup", new { password = VaultUnderTest.Password })).JsonAsync();
        var totp = new Totp(Base32Encoding.ToBytes(setup["secret"]!.GetValue<string>()));
        var recovery = (await (await owner.Admin.PostAsJsonAsync("/okap/account/totp/confirm", new { code = totp.ComputeTotp() })).JsonAsync())["recovery_codes"]!
            .AsArray().Select(c => c!.GetValue<string>()).ToArray();
        var right = totp.ComputeTotp(DateTime.UtcNow.AddSeconds(30));
        var wrong = right == "123456" ? "654321" : "123456";
        for (var i = 0; i < 5; i++)
        {
            var guess = await Login(owner.UserName, i % 2 == 0 ? new { totp_code = wrong } : (object)new { recovery_code = "aaaa-bbbb-cccc" });
            Assert.Equal("invalid_second_factor", (await guess.JsonAsync())["error"]!["type"]!.GetValue<string>());
        }
        // Now even the right code and a real recovery code wait: no code is checked for this owner until the window ends.
        foreach (var factor in new object[] { new { totp_code = right }, new { recovery_code = recovery[0] } })
        {
            var locked = await Login(owner.UserName, factor);
            Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
            Assert.Equal("too_many_attempts", (await locked.JsonAsync())["error"]!["type"]!.GetValue<string>());
            Assert.True(locked.Headers.RetryAfter?.Delta is { } wait && wait > TimeSpan.Zero && wait <= TimeSpan.FromMinutes(15));
            Assert.False(locked.Headers.Contains("Set-Cookie"));
        }
        // A wrong password still reads as a wrong password: the lock says nothing to someone without it.
        Assert.Equal("invalid_credentials", (await (await Login(owner.UserName, new { totp_code = right }, "wrong password!")).JsonAsync())["error"]!["type"]!.GetValue<string>());
        // The recovery code was not spent by the refused try.
        var security = await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/account/security");
        Assert.Equal(10, security!["recovery_codes_left"]!.GetValue<int>());
    }

    [PassFact]
    public async Task Removing_a_passkey_needs_the_password()
    {
        var owner = await pass.Shared.SignUpAsync();
        // No body at all is refused as any body route refuses one (415), before anything else.
        var bare = await owner.Admin.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/okap/account/passkeys/pky_nothere"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, bare.StatusCode);
        var wrong = await owner.Admin.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/okap/account/passkeys/pky_nothere") { Content = JsonContent.Create(new { password = "not the password at all" }) });
        Assert.Equal("password", (await wrong.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var right = await owner.Admin.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/okap/account/passkeys/pky_nothere") { Content = JsonContent.Create(new { password = VaultUnderTest.Password }) });
        Assert.Equal(HttpStatusCode.NotFound, right.StatusCode);
    }

    [PassFact]
    public async Task Registering_a_passkey_needs_the_password_so_a_stolen_session_cannot_plant_one()
    {
        var owner = await pass.Shared.SignUpAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.Admin.PostAsync("/okap/account/passkeys/options", JsonContent.Create(new { }))).StatusCode);
        var wrong = await owner.Admin.PostAsJsonAsync("/okap/account/passkeys/options", new { password = "not the password at all" });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("password", (await wrong.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var started = await owner.Admin.PostAsJsonAsync("/okap/account/passkeys/options", new { password = VaultUnderTest.Password });
        Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        var options = (await started.JsonAsync())["options"]!;
        // Bound to the vault's host name, asking for a discoverable credential that verifies the user.
        Assert.Equal(owner.HostName ?? owner.Admin.BaseAddress!.Host, options["rp"]!["id"]!.GetValue<string>());
        Assert.Equal("required", options["authenticatorSelection"]!["userVerification"]!.GetValue<string>());
    }

    private Task<HttpResponseMessage> Login(string userName, object? factor = null, string password = VaultUnderTest.Password)
    {
        var body = new JsonObject { ["user_name"] = userName, ["password"] = password };
        if (factor is not null)
        {
            foreach (var (name, value) in JsonSerializer.SerializeToNode(factor)!.AsObject()) body[name] = value?.DeepClone();
        }
        return pass.Shared.Client().PostAsJsonAsync("/okap/account/login", body);
    }

    private HttpClient CopyOf(VaultOwner owner) => pass.Shared.CopyOf(owner.Admin);
}
