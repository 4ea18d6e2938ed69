using System.Text;

namespace Okap.Testing.Behaviour;

/// <summary>Secrets stay secret in what the vault stores, logs and answers; the audit trail records what happened.</summary>
public abstract class SecretsBehaviour(BehaviourPass pass)
{
    [PassFact]
    public async Task Tokens_keys_and_handles_never_appear_in_clear_in_the_store_the_log_or_responses()
    {
        var masterKey = "sk-proj-MASTERKEY-" + Guid.NewGuid().ToString("N") + "XYZW";
        var owner = await pass.Shared.SignUpAsync();
        var responses = new StringBuilder();

        var setKey = await owner.Admin.PutAsJsonAsync("/okap/admin/keys/openai", new { key = masterKey, label = "personal" });
        responses.Append(await setKey.Content.ReadAsStringAsync());
        Assert.Equal("XYZW", (await setKey.JsonAsync())["last4"]!.GetValue<string>());
        (await owner.Admin.PutAsJsonAsync("/okap/admin/keys/openai", new { key = masterKey + "2" })).EnsureSuccessStatusCode();
        responses.Append(await owner.Admin.GetStringAsync("/okap/admin/keys"));

        (await owner.Admin.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await owner.App().PostAsJsonAsync("/okap/request", Bodies.Sdk())).JsonAsync();
        var token = granted["token"]!["token"]!.GetValue<string>();
        var spec = await (await owner.App().PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var specToken = spec["token"]!.GetValue<string>();
        var pat = (await (await owner.Admin.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli", scopes = new[] { "read", "approve", "keys" } })).JsonAsync())["secret"]!.GetValue<string>();

        // Secrets in URLs: a Gemini-style ?key= on a proxied call, a poll handle in a poll URL.
        (await pass.Shared.Client().GetAsync($"/v1/openai/models?key={token}")).Dispose();
        var polled = await (await owner.App().PostAsJsonAsync("/okap/authorize", Bodies.Spec("Still pending", "anthropic"))).JsonAsync();
        var pollUrl = new Uri(polled["poll_url"]!.GetValue<string>());
        var handle = Uri.UnescapeDataString(pollUrl.Query.Split("handle=")[1]);
        (await owner.App().GetAsync(pollUrl.PathAndQuery)).Dispose();

        foreach (var path in new[] { "/okap/admin/tokens", "/okap/admin/requests", "/okap/admin/audit", "/okap/admin/keys", "/okap/admin/access-keys", "/okap/admin/usage" })
        {
            responses.Append(await owner.Admin.GetStringAsync(path));
        }
        var tokenId = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray()[0]!["id"]!.GetValue<string>();
        responses.Append(await (await owner.Admin.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).Content.ReadAsStringAsync());
        await Task.Delay(1000); // hosts write their log lines asynchronously

        var stored = await pass.Shared.StoredTextAsync();
        var log = pass.Shared.LogText;
        Assert.NotEmpty(log);
        foreach (var secret in new[] { masterKey, masterKey + "2", token, specToken, pat, handle, token[5..], pat[9..] })
        {
            Assert.DoesNotContain(secret, stored);
            Assert.DoesNotContain(secret, log);
            Assert.DoesNotContain(secret, responses.ToString());
        }
        Assert.DoesNotContain(VaultUnderTest.Password, log);
        // Stored hashed: the token's SHA-256 is the lookup key.
        Assert.Contains(Okap.Core.Secrets.Hash(token), stored);
    }

    [PassFact]
    public async Task Audit_trail_records_requests_decisions_and_key_changes_newest_first_with_paging()
    {
        var owner = await pass.Shared.SignUpAsync();
        for (var i = 0; i < 3; i++) await owner.App().PostAsJsonAsync("/okap/authorize", Bodies.Spec($"App {i}"));
        await owner.SetKeyAsync("sk-ant-0000000000", "anthropic");
        (await owner.Admin.DeleteAsync("/okap/admin/keys/anthropic")).EnsureSuccessStatusCode();

        var page1 = await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?page_size=2");
        var items = page1!["items"]!.AsArray();
        Assert.Equal(2, items.Count);
        Assert.Equal("key.removed", items[0]!["event"]!.GetValue<string>());
        Assert.Equal("key.set", items[1]!["event"]!.GetValue<string>());
        var next = page1["next"]!.GetValue<string>();
        var page2 = await owner.Admin.GetFromJsonAsync<JsonObject>($"/okap/admin/audit?page_size=2&continuation={Uri.EscapeDataString(next)}");
        Assert.Equal("request.created", page2!["items"]!.AsArray()[0]!["event"]!.GetValue<string>());

        var byApp = await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?app=App%201");
        Assert.NotEmpty(byApp!["items"]!.AsArray());
        Assert.All(byApp["items"]!.AsArray(), e => Assert.Equal("App 1", e!["app_name"]!.GetValue<string>()));
        // Every pass calls over the loopback, and the vault records the caller's address.
        Assert.Equal("127.0.0.1", byApp["items"]!.AsArray()[0]!["client_address"]!.GetValue<string>());
    }
}
