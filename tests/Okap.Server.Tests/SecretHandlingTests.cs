using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Okap.Server.Tests;

public sealed class SecretHandlingTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Tokens_and_master_keys_never_appear_in_clear_in_the_database_logs_or_responses()
    {
        const string masterKey = "sk-proj-MASTERKEY-0123456789abcdefXYZW";
        var owner = await _vault.SignUpAsync("alice");
        var responses = new StringBuilder();

        var setKey = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = masterKey, label = "personal" });
        responses.Append(await setKey.Content.ReadAsStringAsync());
        var keyView = await setKey.JsonAsync();
        Assert.Equal("XYZW", keyView["last4"]!.GetValue<string>());
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = masterKey + "2" })).EnsureSuccessStatusCode();
        responses.Append(await owner.GetStringAsync("/okap/admin/keys"));

        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk())).JsonAsync();
        var token = granted["token"]!["token"]!.GetValue<string>();
        var spec = await (await _vault.ClientFor().PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var specToken = spec["token"]!.GetValue<string>();
        var pat = (await (await owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli" })).JsonAsync())["secret"]!.GetValue<string>();

        foreach (var path in new[] { "/okap/admin/tokens", "/okap/admin/requests", "/okap/admin/audit", "/okap/admin/keys", "/okap/admin/access-keys", "/okap/admin/usage" })
        {
            responses.Append(await owner.GetStringAsync(path));
        }
        var tokenId = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray()[0]!["id"]!.GetValue<string>();
        responses.Append(await (await owner.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).Content.ReadAsStringAsync());

        var database = Encoding.UTF8.GetString(_vault.DatabaseBytes());
        var secrets = new[] { masterKey, masterKey + "2", token, specToken, pat, token[5..], pat[9..] };
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, database);
            Assert.DoesNotContain(secret, _vault.Logs.All);
            Assert.DoesNotContain(secret, responses.ToString());
        }
        // Stored hashed: the token's SHA-256 is the lookup key.
        Assert.Contains(Okap.Core.Secrets.Hash(token), database);
        Assert.NotEmpty(_vault.Logs.Lines);
    }

    [Fact]
    public async Task Revocation_is_immediate_idempotent_and_audited()
    {
        var owner = await _vault.SignUpAsync("alice");
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        (await _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk())).EnsureSuccessStatusCode();
        var tokenId = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray()[0]!["id"]!.GetValue<string>();

        var first = await (await owner.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).JsonAsync();
        var second = await (await owner.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).JsonAsync();

        Assert.Equal("revoked", first["status"]!.GetValue<string>());
        Assert.Equal(first["revoked_at"]!.GetValue<DateTimeOffset>(), second["revoked_at"]!.GetValue<DateTimeOffset>());
        var audit = await owner.GetFromJsonAsync<JsonObject>("/okap/admin/audit?event=token.revoked");
        Assert.Single(audit!["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await owner.PostAsync("/okap/admin/tokens/tok_missing/revoke", null)).StatusCode);
    }

    [Fact]
    public async Task Audit_trail_records_requests_decisions_and_key_changes_newest_first_with_paging()
    {
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        for (var i = 0; i < 3; i++) await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec($"App {i}"));
        (await owner.PutAsJsonAsync("/okap/admin/keys/anthropic", new { key = "sk-ant-0000000000" })).EnsureSuccessStatusCode();
        (await owner.DeleteAsync("/okap/admin/keys/anthropic")).EnsureSuccessStatusCode();

        var page1 = await owner.GetFromJsonAsync<JsonObject>("/okap/admin/audit?page_size=2");
        var items = page1!["items"]!.AsArray();
        Assert.Equal(2, items.Count);
        Assert.Equal("key.removed", items[0]!["event"]!.GetValue<string>());
        Assert.Equal("key.set", items[1]!["event"]!.GetValue<string>());
        var next = page1["next"]!.GetValue<string>();
        var page2 = await owner.GetFromJsonAsync<JsonObject>($"/okap/admin/audit?page_size=2&continuation={Uri.EscapeDataString(next)}");
        Assert.Equal("request.created", page2!["items"]!.AsArray()[0]!["event"]!.GetValue<string>());

        var byApp = await owner.GetFromJsonAsync<JsonObject>("/okap/admin/audit?app=App%201");
        Assert.All(byApp!["items"]!.AsArray(), e => Assert.Equal("App 1", e!["app_name"]!.GetValue<string>()));
        Assert.NotEmpty(byApp["items"]!.AsArray());
        Assert.Equal("127.0.0.1", byApp["items"]!.AsArray()[0]!["client_address"]?.GetValue<string>() ?? "127.0.0.1");
    }

    [Fact]
    public async Task Page_is_served_with_a_strict_content_security_policy_and_no_framing()
    {
        var response = await _vault.CreateClient().GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }

    [Fact]
    public async Task OpenApi_document_lists_the_admin_api()
    {
        var doc = await _vault.CreateClient().GetStringAsync("/okap/okap.json");
        Assert.Contains("/okap/admin/tokens/{id}/revoke", doc);
        Assert.Contains("/okap/request", doc);
        // Schemas carry the wire names the handlers write.
        Assert.Contains("\"display_prefix\"", doc);
        Assert.Contains("\"authorization_details\"", doc);
    }

    [Fact]
    public async Task OpenApi_document_marks_approve_and_deny_bodies_optional_as_the_handlers_accept_them()
    {
        var owner = await _vault.SignUpAsync("alice");
        var app = _vault.ClientFor();
        var first = (await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync())["request_id"]!.GetValue<string>();
        var second = (await (await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync())["request_id"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"/okap/admin/requests/{first}/approve", new StringContent("{}", Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PostAsync($"/okap/admin/requests/{second}/deny", null)).StatusCode);

        var doc = JsonNode.Parse(await _vault.CreateClient().GetStringAsync("/okap/okap.json"))!;
        foreach (var action in new[] { "approve", "deny" })
        {
            var body = doc["paths"]![$"/okap/admin/requests/{{id}}/{action}"]!["post"]!["requestBody"]!;
            Assert.NotEqual(true, body["required"]?.GetValue<bool>());
        }
        var schemas = doc["components"]!["schemas"]!;
        Assert.Null(schemas["DecisionBody"]!["required"]);
        // A grant names its provider; everything else in it is optional.
        Assert.Equal(["provider"], schemas["GrantBody"]!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
    }
}
