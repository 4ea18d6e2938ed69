
namespace Okap.Testing.Behaviour;

/// <summary>
/// App Service Authentication (<c>Okap:Auth:TrustAppServicePrincipal=true</c> on the shared vault): owners signed in
/// by the platform's <c>X-MS-CLIENT-PRINCIPAL</c> header. No test host runs the platform's own sign-in middleware; the
/// header is what it would set (and strips from anything a client sends).
/// </summary>
public abstract class PlatformSignInBehaviour(BehaviourPass pass)
{
    private async Task<(HttpClient Client, JsonObject Session)> PlatformOwnerAsync(string objectId, string name)
    {
        var client = pass.Shared.PlatformClient(objectId, name);
        var session = await client.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal("appservice", session!["auth_method"]!.GetValue<string>());
        await VaultUnderTest.ArmCsrfAsync(client);
        return (client, session);
    }

    [PassFact]
    public async Task Trusted_platform_principal_signs_in_one_owner_per_identity()
    {
        var local = VaultUnderTest.NewUserName("p");
        var oid = "oid-" + Guid.NewGuid().ToString("N");
        var (first, session) = await PlatformOwnerAsync(oid, $"{local}@example.com");
        Assert.Equal(local, session["user_name"]!.GetValue<string>());
        var again = await pass.Shared.PlatformClient(oid, $"{local}@example.com").GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal(session["owner_id"]!.GetValue<string>(), again!["owner_id"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/okap/admin/tokens")).StatusCode);

        // Another identity with the same local part is another owner, under another user name.
        var (_, other) = await PlatformOwnerAsync("oid-" + Guid.NewGuid().ToString("N"), $"{local}@example.org");
        Assert.NotEqual(session["owner_id"]!.GetValue<string>(), other["owner_id"]!.GetValue<string>());
        Assert.NotEqual(local, other["user_name"]!.GetValue<string>());
    }

    [PassFact]
    public async Task Behind_the_platform_the_session_points_at_its_sign_in_and_needs_no_setup()
    {
        var state = await pass.Shared.Client().GetAsync("/okap/account/session");
        Assert.Equal(HttpStatusCode.Unauthorized, state.StatusCode);
        var body = await state.JsonAsync();
        Assert.False(body["setup_required"]!.GetValue<bool>());
        Assert.Equal("/.auth/login/aad?post_login_redirect_uri=/", body["platform_sign_in_url"]!.GetValue<string>());

        var malformed = pass.Shared.Client();
        malformed.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL", "not base64 at all!");
        Assert.Equal(HttpStatusCode.Unauthorized, (await malformed.GetAsync("/okap/admin/tokens")).StatusCode);
    }

    [PassFact]
    public async Task Owner_signed_in_by_the_platform_approves_and_the_app_calls_the_provider_through_the_proxy()
    {
        var local = VaultUnderTest.NewUserName("p");
        var (owner, session) = await PlatformOwnerAsync("oid-" + Guid.NewGuid().ToString("N"), $"{local}@example.com");
        var userName = session["user_name"]!.GetValue<string>();
        var masterKey = "sk-platform-" + Guid.NewGuid().ToString("N");
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = masterKey })).EnsureSuccessStatusCode();

        // The app reaches this owner's vault by its host name and asks in the specification shape.
        var app = pass.Shared.Client(pass.Shared.HostNameOf(userName));
        var pending = await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec("Platform App"))).JsonAsync();
        var requestId = pending["request_id"]!.GetValue<string>();
        (await owner.PostAsync($"/okap/admin/requests/{requestId}/approve", null)).EnsureSuccessStatusCode();
        var granted = await (await app.GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery)).JsonAsync();
        var token = granted["token"]!.GetValue<string>();

        // An app cannot pass itself off as a signed-in person upstream: the platform's headers never reach the provider.
        using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("X-MS-CLIENT-PRINCIPAL", VaultUnderTest.Principal("oid-spoofed", "spoof@example.com"));
        call.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", "oid-spoofed");
        Assert.Equal(HttpStatusCode.OK, (await pass.Shared.Client().SendAsync(call)).StatusCode);
        var seen = pass.Fake.Last(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal) && s.Header("authorization") == "Bearer " + masterKey)!;
        Assert.NotNull(seen);
        Assert.DoesNotContain(seen.Headers.Keys, k => k.StartsWith("x-ms-client-principal", StringComparison.Ordinal));

        // The platform-signed owner revokes the app.
        var tokenId = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();
        (await owner.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).EnsureSuccessStatusCode();
        Assert.Equal("revoked", (await owner.GetFromJsonAsync<JsonObject>($"/okap/admin/tokens/{tokenId}"))!["status"]!.GetValue<string>());
    }

    [PassFact]
    public async Task Changes_by_a_platform_signed_owner_need_the_anti_forgery_header()
    {
        var client = pass.Shared.PlatformClient("oid-" + Guid.NewGuid().ToString("N"), VaultUnderTest.NewUserName("p") + "@example.com");
        var forged = await client.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli", scopes = new[] { "read", "approve", "keys" } });
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        await VaultUnderTest.ArmCsrfAsync(client);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli", scopes = new[] { "read", "approve", "keys" } })).StatusCode);
    }

    [PassFact]
    public async Task Local_accounts_still_sign_in_with_cookies_beside_the_platform()
    {
        var owner = await pass.Shared.SignUpAsync();
        var session = await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Assert.Equal(owner.UserName, session!["user_name"]!.GetValue<string>());
        Assert.NotEqual("appservice", session["auth_method"]?.GetValue<string>());
        Assert.Null(session["sign_out_url"]);
    }

    [PassFact]
    public async Task Platform_principal_header_is_ignored_where_it_is_not_trusted()
    {
        await pass.SingleOwnerAsync();
        var client = pass.Single.PlatformClient("oid-owner", "owner@example.com");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/okap/admin/tokens")).StatusCode);
        Assert.Null((await (await client.GetAsync("/okap/account/session")).JsonAsync())["platform_sign_in_url"]);
    }
}
