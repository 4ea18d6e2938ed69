using System.Net.Http.Headers;

namespace Okap.Testing.Behaviour;

/// <summary>Personal access keys: scopes enforced per route, required scopes, bounded expiry, last use; the audit actor of each credential.</summary>
public abstract class AccessKeyScopeBehaviour(BehaviourPass pass)
{
    private static readonly string[] AllScopes = ["read", "approve", "keys"];

    private async Task<(HttpClient Client, string Secret, JsonObject Key)> KeyAsync(VaultOwner owner, string name, string[] scopes, int? days = null)
    {
        var made = await owner.Admin.PostAsJsonAsync("/okap/admin/access-keys", new { name, scopes, expires_in_days = days });
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        var body = await made.JsonAsync();
        var client = pass.Shared.Client(owner.HostName);
        var secret = body["secret"]!.GetValue<string>();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return (client, secret, body["key"]!.AsObject());
    }

    private static async Task AssertScopeRefusedAsync(HttpResponseMessage response, string scope)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("insufficient_scope", error["type"]!.GetValue<string>());
        Assert.Equal(scope, error["param"]?.GetValue<string>());
        Assert.Contains(scope, error["message"]!.GetValue<string>());
    }

    [PassFact]
    public async Task A_read_key_reads_but_every_change_is_refused_naming_the_scope_it_needs()
    {
        var owner = await pass.Shared.SignUpAsync();
        var (reader, _, _) = await KeyAsync(owner, "dashboard", ["read"]);
        foreach (var path in new[] { "/okap/admin/requests", "/okap/admin/tokens", "/okap/admin/usage", "/okap/admin/keys", "/okap/admin/policies",
                     "/okap/admin/prices", "/okap/admin/catalog", "/okap/admin/audit", "/okap/admin/access-keys" })
        {
            Assert.True((await reader.GetAsync(path)).StatusCode == HttpStatusCode.OK, path);
        }
        var id = await StartRequestAsync(owner, "Reader App");
        await AssertScopeRefusedAsync(await reader.PostAsync($"/okap/admin/requests/{id}/approve", null), "approve");
        await AssertScopeRefusedAsync(await reader.PostAsync($"/okap/admin/requests/{id}/deny", null), "approve");
        await AssertScopeRefusedAsync(await reader.PostAsync("/okap/admin/tokens/tok_x/revoke", null), "approve");
        await AssertScopeRefusedAsync(await reader.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-should-not-land", check = false }), "keys");
        await AssertScopeRefusedAsync(await reader.PostAsJsonAsync("/okap/admin/policies", new { name = "p", providers = new[] { "openai" } }), "keys");
        await AssertScopeRefusedAsync(await reader.PutAsJsonAsync("/okap/admin/prices/openai/gpt-x", new { input_per_million = 1, output_per_million = 2 }), "keys");

        // Nothing changed: the request is still pending and no key or policy was stored.
        var request = await owner.Admin.GetFromJsonAsync<JsonObject>($"/okap/admin/requests/{id}");
        Assert.Equal("pending", request!["status"]!.GetValue<string>());
        Assert.Empty((await owner.Admin.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!);
        Assert.Empty((await owner.Admin.GetFromJsonAsync<JsonArray>("/okap/admin/policies"))!);
    }

    [PassFact]
    public async Task An_approve_key_decides_requests_and_a_keys_key_changes_settings_but_neither_does_the_other()
    {
        var owner = await pass.Shared.SignUpAsync();
        var (approver, _, _) = await KeyAsync(owner, "approver", ["approve"]);
        var (settings, _, _) = await KeyAsync(owner, "settings", ["keys"]);
        var id = await StartRequestAsync(owner, "Approved App");

        await AssertScopeRefusedAsync(await settings.PostAsync($"/okap/admin/requests/{id}/approve", null), "approve");
        Assert.Equal(HttpStatusCode.OK, (await approver.PostAsync($"/okap/admin/requests/{id}/approve", null)).StatusCode);
        await AssertScopeRefusedAsync(await approver.GetAsync("/okap/admin/tokens"), "read");

        await AssertScopeRefusedAsync(await approver.PostAsJsonAsync("/okap/admin/policies", new { name = "p", providers = new[] { "openai" } }), "keys");
        Assert.Equal(HttpStatusCode.Created, (await settings.PostAsJsonAsync("/okap/admin/policies", new { name = "p", app_name = "x", providers = new[] { "openai" } })).StatusCode);
    }

    [PassFact]
    public async Task No_key_whatever_its_scopes_manages_access_keys_or_signs_out_a_session()
    {
        var owner = await pass.Shared.SignUpAsync();
        var (full, _, key) = await KeyAsync(owner, "everything", AllScopes);
        foreach (var refused in new[]
                 {
                     await full.PostAsJsonAsync("/okap/admin/access-keys", new { name = "successor", scopes = AllScopes }),
                     await full.DeleteAsync($"/okap/admin/access-keys/{key["id"]}"),
                     await full.PostAsync("/okap/account/logout", null),
                 })
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            var error = (await refused.JsonAsync())["error"]!;
            Assert.Equal("insufficient_scope", error["type"]!.GetValue<string>());
            Assert.Contains("browser session", error["message"]!.GetValue<string>());
        }
        var keys = (await owner.Admin.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!;
        Assert.Single(keys);
        Assert.Null(keys[0]!["revoked_at"]);
        Assert.Equal(HttpStatusCode.OK, (await full.GetAsync("/okap/admin/tokens")).StatusCode);
    }

    [PassFact]
    public async Task A_key_needs_known_scopes_expires_by_default_within_the_maximum_and_shows_its_last_use()
    {
        var owner = await pass.Shared.SignUpAsync();
        foreach (var bad in new object[] { new { name = "k" }, new { name = "k", scopes = Array.Empty<string>() }, new { name = "k", scopes = new[] { "read", "admin" } } })
        {
            var refused = await owner.Admin.PostAsJsonAsync("/okap/admin/access-keys", bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("scopes", (await refused.JsonAsync())["error"]!["param"]!.GetValue<string>());
        }
        var tooLong = await owner.Admin.PostAsJsonAsync("/okap/admin/access-keys", new { name = "k", scopes = new[] { "read" }, expires_in_days = 366 });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("expires_in_days", (await tooLong.JsonAsync())["error"]!["param"]!.GetValue<string>());

        var (client, secret, key) = await KeyAsync(owner, "default expiry", ["keys", "read", "read"]);
        Assert.Equal(["read", "keys"], key["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.InRange(key["expires_at"]!.GetValue<DateTimeOffset>() - key["created_at"]!.GetValue<DateTimeOffset>(), TimeSpan.FromDays(90), TimeSpan.FromDays(90));
        Assert.False(key["legacy_scopes"]!.GetValue<bool>());
        Assert.Null(key["last_used_at"]);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/okap/admin/tokens")).StatusCode);
        var listed = (await owner.Admin.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!.Single()!;
        Assert.NotNull(listed["last_used_at"]);
        Assert.DoesNotContain(secret, listed.ToJsonString());
    }

    [PassFact]
    public async Task Every_audit_entry_names_the_credential_that_acted_in_the_listing_and_the_csv_and_never_its_secret()
    {
        var owner = await pass.Shared.SignUpAsync();
        (await owner.Admin.PostAsJsonAsync("/okap/admin/policies", new { name = "by session", app_name = "a", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var (client, secret, key) = await KeyAsync(owner, "ci runner", AllScopes);
        (await client.PostAsJsonAsync("/okap/admin/policies", new { name = "by key", app_name = "b", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        await StartRequestAsync(owner, "Audited App");

        var items = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?page_size=200"))!["items"]!.AsArray();
        string ActorOf(string @event, string detail) => items.Single(e => e!["event"]!.GetValue<string>() == @event && e["detail"]?.GetValue<string>() == detail)!["actor"]!.GetValue<string>();
        var sessionActor = ActorOf("policy.created", "by session");
        Assert.Matches("^session:ses_[A-Za-z0-9_-]+$", sessionActor);
        Assert.Equal($"access_key:{key["id"]} (ci runner)", ActorOf("policy.created", "by key"));
        Assert.Equal("app", items.First(e => e!["event"]!.GetValue<string>() == "request.created")!["actor"]!.GetValue<string>());
        // The account was made by the session it signed in: the same session id then acts.
        Assert.Equal(sessionActor, items.Single(e => e!["event"]!.GetValue<string>() == "account.created")!["actor"]!.GetValue<string>());
        var signedIn = await pass.Shared.SignInAsync(owner.UserName);
        (await signedIn.PostAsJsonAsync("/okap/admin/policies", new { name = "second session", app_name = "c", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        items = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?page_size=200"))!["items"]!.AsArray();
        Assert.Equal("password:" + owner.UserName, items.Single(e => e!["event"]!.GetValue<string>() == "account.sign_in")!["actor"]!.GetValue<string>());
        Assert.NotEqual(sessionActor, ActorOf("policy.created", "second session"));
        Assert.StartsWith("session:", ActorOf("policy.created", "second session"));
        Assert.All(items, e => Assert.False(string.IsNullOrEmpty(e!["actor"]?.GetValue<string>()), e!.ToJsonString()));

        var csv = await owner.Admin.GetStringAsync("/okap/admin/audit?format=csv");
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith(",id,actor", lines[0].TrimEnd('\r'));
        Assert.Contains(lines, l => l.Contains(",policy.created,", StringComparison.Ordinal) && l.Contains($"access_key:{key["id"]} (ci runner)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(",policy.created,", StringComparison.Ordinal) && l.TrimEnd('\r').EndsWith("," + sessionActor, StringComparison.Ordinal));
        Assert.DoesNotContain(secret, csv);
        Assert.DoesNotContain("okap_pat_", csv);
    }

    private static async Task<string> StartRequestAsync(VaultOwner owner, string app)
    {
        (await owner.App().PostAsJsonAsync("/okap/authorize", Bodies.Spec(app: app))).EnsureSuccessStatusCode();
        return await owner.PendingIdAsync(app);
    }
}
