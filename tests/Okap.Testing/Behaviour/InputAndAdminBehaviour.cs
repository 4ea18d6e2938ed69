
namespace Okap.Testing.Behaviour;

/// <summary>Bad input on the public routes (400 naming the field, 413, 415) and the admin API's validation and sign-in.</summary>
public abstract class InputAndAdminBehaviour(BehaviourPass pass)
{
    [PassTheory]
    [InlineData("/okap/request", """{"okap":"1.0","provider":"nope","app_name":"a"}""", "provider")]
    [InlineData("/okap/request", """{"okap":"1.0","app_name":"a"}""", "provider")]
    [InlineData("/okap/request", """{"okap":"2.0","provider":"openai"}""", "okap")]
    [InlineData("/okap/request", """{"provider":"openai","capabilities":["chat","teleport"]}""", "capabilities[1]")]
    [InlineData("/okap/request", """{"provider":"openai","models":[""]}""", "models[0]")]
    [InlineData("/okap/request", """{"provider":"openai","limits":{"monthly_spend":-1}}""", "limits.monthly_spend")]
    [InlineData("/okap/request", """{"provider":"openai","limits":{"requests_per_minute":"many"}}""", "limits.requests_per_minute")]
    [InlineData("/okap/request", """{"provider":"openai","expires":"tomorrow"}""", "expires")]
    [InlineData("/okap/request", """{"provider":"openai","expires":"2001-01-01"}""", "expires")]
    [InlineData("/okap/request", """{"provider":"openai","app_url":"javascript:alert(1)"}""", "app_url")]
    [InlineData("/okap/request", """{"provider":"openai","models":"gpt-4"}""", "models")]
    [InlineData("/okap/request", """{"provider":"openai",""", "body")]
    [InlineData("/okap/request", """[]""", "body")]
    [InlineData("/okap/authorize", """{"okap":"1.0","authorization_details":[{"type":"ai_model_access","provider":"openai"}]}""", "client")]
    [InlineData("/okap/authorize", """{"okap":"1.0","authorization_details":[{"type":"ai_model_access","provider":"openai"}],"client":{}}""", "client.name")]
    [InlineData("/okap/authorize", """{"okap":"1.0","authorization_details":[],"client":{"name":"a"}}""", "authorization_details")]
    [InlineData("/okap/authorize", """{"authorization_details":[{"type":"other","provider":"openai"}],"client":{"name":"a"}}""", "authorization_details[0].type")]
    [InlineData("/okap/authorize", """{"authorization_details":[{"type":"ai_model_access"}],"client":{"name":"a"}}""", "authorization_details[0].provider")]
    [InlineData("/okap/authorize", """{"authorization_details":[{"type":"ai_model_access","provider":"openai","capabilities":["x"]}],"client":{"name":"a"}}""", "authorization_details[0].capabilities[0]")]
    [InlineData("/okap/authorize", """{"authorization_details":[{"type":"ai_model_access","provider":"openai"},{"type":"ai_model_access","provider":"openai"}],"client":{"name":"a"}}""", "authorization_details[1].provider")]
    [InlineData("/okap/authorize", """{"authorization_details":[{"type":"ai_model_access","provider":"openai","base_url":"http://evil"}],"client":{"name":"a"}}""", "authorization_details[0].base_url")]
    public async Task Bad_request_gets_400_naming_the_field(string path, string json, string field)
    {
        await pass.SingleOwnerAsync();
        var response = await pass.Single.Client().PostAsync(path, Bodies.Raw(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("invalid_request", error["type"]!.GetValue<string>());
        Assert.Equal(field, error["param"]!.GetValue<string>());
        Assert.StartsWith(field, error["message"]!.GetValue<string>());
    }

    [PassTheory]
    [InlineData("/okap/request")]
    [InlineData("/okap/authorize")]
    [InlineData("/okap/account/login")]
    [InlineData("/okap/account/setup")]
    public async Task Body_over_64_KiB_is_refused_with_413(string path)
    {
        var huge = "{\"provider\":\"openai\",\"reason\":\"" + new string('x', 70 * 1024) + "\"}";
        var response = await pass.Single.Client().PostAsync(path, Bodies.Raw(huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [PassTheory]
    [InlineData("/okap/request")]
    [InlineData("/okap/authorize")]
    public async Task Non_json_body_is_refused_with_415(string path)
    {
        var response = await pass.Single.Client().PostAsync(path, Bodies.Raw("provider=openai", "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [PassFact]
    public async Task Long_texts_are_refused()
    {
        await pass.SingleOwnerAsync();
        var response = await pass.Single.Client().PostAsJsonAsync("/okap/request", new { provider = "openai", reason = new string('r', 1001) });
        Assert.Equal("reason", (await response.JsonAsync())["error"]!["param"]!.GetValue<string>());
        response = await pass.Single.Client().PostAsJsonAsync("/okap/request", new { provider = "openai", app_name = new string('a', 201) });
        Assert.Equal("app_name", (await response.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }

    [PassFact]
    public async Task Poll_wait_must_be_a_number()
    {
        var owner = await pass.Shared.SignUpAsync();
        var pending = await (await owner.App().PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var response = await owner.App().GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery + "&wait=soon");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [PassFact]
    public async Task Admin_bodies_are_validated_with_the_field_named()
    {
        var owner = (await pass.Shared.SignUpAsync()).Admin;
        var key = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { label = "no key" });
        Assert.Equal("key", (await key.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var empty = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "" });
        Assert.Equal("key", (await empty.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var unknown = await owner.PutAsJsonAsync("/okap/admin/keys/skynet", new { key = "k" });
        Assert.Equal("provider", (await unknown.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var insecure = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "k-123456", base_url = "http://example.com/v1" });
        Assert.Equal("base_url", (await insecure.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var policy = await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "p", providers = Array.Empty<string>() });
        Assert.Equal("providers", (await policy.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var pat = await owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "" });
        Assert.Equal("name", (await pat.JsonAsync())["error"]!["param"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.GetAsync("/okap/admin/requests?status=weird")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await owner.GetAsync("/okap/admin/audit?page_size=0")).StatusCode);
    }

    [PassFact]
    public async Task Admin_api_answers_a_signed_in_owner_only_and_shows_keys_by_their_last_four_characters()
    {
        var anonymous = pass.Shared.Client();
        foreach (var path in new[] { "/okap/admin/requests", "/okap/admin/tokens", "/okap/admin/keys", "/okap/admin/policies", "/okap/admin/usage", "/okap/admin/audit", "/okap/admin/prices" })
        {
            Assert.True((await anonymous.GetAsync(path)).StatusCode == HttpStatusCode.Unauthorized, path);
        }

        var owner = await pass.Shared.SignUpAsync();
        var masterKey = "sk-last-four-" + Guid.NewGuid().ToString("N");
        await owner.SetKeyAsync(masterKey);
        var keys = (await owner.Admin.GetFromJsonAsync<JsonArray>("/okap/admin/keys"))!;
        Assert.Equal(masterKey[^4..], keys.Single()!["last4"]!.GetValue<string>());
        Assert.DoesNotContain(masterKey, keys.ToJsonString());
        foreach (var path in new[] { "/okap/admin/usage", "/okap/admin/audit", "/okap/admin/prices", "/okap/admin/catalog", "/okap/admin/policies" })
        {
            Assert.True((await owner.Admin.GetAsync(path)).StatusCode == HttpStatusCode.OK, path);
        }
    }

    public static TheoryData<string, string> TamperedContinuations()
    {
        static string B64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var data = new TheoryData<string, string>();
        foreach (var listing in new[] { "/okap/admin/requests", "/okap/admin/tokens", "/okap/admin/audit" })
        {
            foreach (var continuation in new[] { "not%20base64!", B64("1\nnot-a-time\nreq_x"), B64("2\n2026-01-01\nx"), B64("""{"V":9,"K":"x"}"""), B64("\u00ff\n\n"), "%00" })
                data.Add(listing, continuation);
        }
        return data;
    }

    [PassTheory]
    [MemberData(nameof(TamperedContinuations))]
    public async Task A_tampered_continuation_on_a_listing_is_a_clear_400(string listing, string continuation)
    {
        var owner = (await pass.Shared.SignUpAsync()).Admin;
        var res = await owner.GetAsync($"{listing}?continuation={continuation}");
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        var error = (await res.JsonAsync())["error"]!;
        Assert.Equal("invalid_request", (string?)error["type"]);
        Assert.Equal("continuation", (string?)error["param"]);
    }

    [PassTheory]
    [InlineData("/okap/admin/requests")]
    [InlineData("/okap/admin/tokens")]
    [InlineData("/okap/admin/audit")]
    public async Task An_empty_continuation_lists_the_first_page(string listing)
    {
        var owner = (await pass.Shared.SignUpAsync()).Admin;
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync(listing + "?continuation=")).StatusCode);
    }

    [PassFact]
    public async Task Audit_search_finds_a_substring_in_any_case_and_pages_with_the_continuation()
    {
        var owner = await pass.Shared.SignUpAsync();
        foreach (var name in new[] { "Zebra nightly", "lion", "the ZEBRA weekly" })
        {
            var created = await owner.Admin.PostAsJsonAsync("/okap/admin/policies", new { name, providers = new[] { "openai" } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var found = new List<string>();
        string? next = null;
        for (var pages = 0; pages < 20; pages++)
        {
            var page = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?page_size=1&q=zeBRA"
                + (next is null ? "" : "&continuation=" + Uri.EscapeDataString(next))))!;
            var items = page["items"]!.AsArray();
            Assert.True(items.Count <= 1);
            found.AddRange(items.Select(e => e!["detail"]!.GetValue<string>()));
            next = page["next"]?.GetValue<string>();
            if (next is null) break;
        }
        Assert.Null(next);
        Assert.Equal(["the ZEBRA weekly", "Zebra nightly"], found);

        var byEvent = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?q=policy.CREATED"))!["items"]!.AsArray();
        Assert.Equal(3, byEvent.Count);
        Assert.Empty((await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/audit?q=tiger"))!["items"]!.AsArray());

        var tooLong = await owner.Admin.GetAsync("/okap/admin/audit?q=" + new string('x', 201));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("q", (await tooLong.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }

    [PassFact]
    public async Task Past_requests_are_searched_by_app_name_or_provider_in_any_case_and_paged()
    {
        var owner = await pass.Shared.SignUpAsync();
        foreach (var (app, provider) in new[] { ("Heron Notes", "openai"), ("Otter Mail", "anthropic"), ("heron cli", "anthropic") })
        {
            var created = await owner.App().PostAsJsonAsync("/okap/authorize", new
            {
                okap = "1.0", authorization_details = new[] { new { type = "ai_model_access", provider } }, client = new { name = app },
            });
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        async Task<List<string>> SearchAsync(string q)
        {
            var apps = new List<string>();
            string? next = null;
            for (var pages = 0; pages < 20; pages++)
            {
                var page = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/requests?page_size=1&q=" + Uri.EscapeDataString(q)
                    + (next is null ? "" : "&continuation=" + Uri.EscapeDataString(next))))!;
                Assert.True(page["items"]!.AsArray().Count <= 1);
                apps.AddRange(page["items"]!.AsArray().Select(r => r!["app_name"]!.GetValue<string>()));
                next = page["next"]?.GetValue<string>();
                if (next is null) return apps;
            }
            throw new InvalidOperationException("paging did not end");
        }

        Assert.Equal(["heron cli", "Heron Notes"], await SearchAsync("HERON"));
        Assert.Equal(["heron cli", "Otter Mail"], await SearchAsync("Anthrop"));
        Assert.Empty(await SearchAsync("gemini"));
        var pending = (await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=pending&q=otter"))!["items"]!.AsArray();
        Assert.Equal("Otter Mail", Assert.Single(pending)!["app_name"]!.GetValue<string>());
        Assert.Empty((await owner.Admin.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=denied&q=otter"))!["items"]!.AsArray());

        var tooLong = await owner.Admin.GetAsync("/okap/admin/requests?q=" + new string('x', 201));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal("q", (await tooLong.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }
}
