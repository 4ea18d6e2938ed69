using System.Net;
using System.Net.Http.Json;

namespace Okap.Server.Tests;

public sealed class BadInputTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Theory]
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
        await _vault.SignUpAsync("alice");
        var response = await _vault.ClientFor().PostAsync(path, Bodies.Raw(json));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("invalid_request", error["type"]!.GetValue<string>());
        Assert.Equal(field, error["param"]!.GetValue<string>());
        Assert.StartsWith(field, error["message"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/okap/request")]
    [InlineData("/okap/authorize")]
    [InlineData("/okap/account/login")]
    [InlineData("/okap/account/setup")]
    public async Task Body_over_64_KiB_is_refused_with_413(string path)
    {
        var huge = "{\"provider\":\"openai\",\"reason\":\"" + new string('x', 70 * 1024) + "\"}";
        var response = await _vault.ClientFor().PostAsync(path, Bodies.Raw(huge));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Long_texts_are_refused()
    {
        await _vault.SignUpAsync("alice");
        var response = await _vault.ClientFor().PostAsJsonAsync("/okap/request", new { provider = "openai", reason = new string('r', 1001) });
        Assert.Equal("reason", (await response.JsonAsync())["error"]!["param"]!.GetValue<string>());
        response = await _vault.ClientFor().PostAsJsonAsync("/okap/request", new { provider = "openai", app_name = new string('a', 201) });
        Assert.Equal("app_name", (await response.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/okap/request")]
    [InlineData("/okap/authorize")]
    public async Task Non_json_body_is_refused_with_415(string path)
    {
        var response = await _vault.ClientFor().PostAsync(path, Bodies.Raw("provider=openai", "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Poll_wait_must_be_a_number()
    {
        await _vault.SignUpAsync("alice");
        var pending = await (await _vault.ClientFor().PostAsJsonAsync("/okap/authorize", Bodies.Spec())).JsonAsync();
        var response = await _vault.ClientFor().GetAsync(new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery + "&wait=soon");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Public_routes_are_rate_limited_per_client_address()
    {
        _vault.Settings["Okap:Http:PublicRequestsPerMinute"] = "5";
        var client = _vault.ClientFor();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++) statuses.Add((await client.PostAsJsonAsync("/okap/request", new { provider = "nope" })).StatusCode);

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.BadRequest));
        var limited = await client.PostAsJsonAsync("/okap/request", new { provider = "nope" });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }

    [Fact]
    public async Task Admin_bodies_are_validated_with_the_field_named()
    {
        var owner = await _vault.SignUpAsync("alice");
        var key = await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { label = "no key" });
        Assert.Equal("key", (await key.JsonAsync())["error"]!["param"]!.GetValue<string>());
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

    [Theory]
    [MemberData(nameof(TamperedContinuations))]
    public async Task A_tampered_continuation_on_a_listing_is_a_clear_400(string listing, string continuation)
    {
        var owner = await _vault.SignUpAsync("alice");
        var res = await owner.GetAsync($"{listing}?continuation={continuation}");
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        var error = (await res.JsonAsync())["error"]!;
        Assert.Equal("invalid_request", (string?)error["type"]);
        Assert.Equal("continuation", (string?)error["param"]);
    }

    [Theory]
    [InlineData("/okap/admin/requests")]
    [InlineData("/okap/admin/tokens")]
    [InlineData("/okap/admin/audit")]
    public async Task An_empty_continuation_lists_the_first_page(string listing)
    {
        var owner = await _vault.SignUpAsync("alice");
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync(listing + "?continuation=")).StatusCode);
    }
}
