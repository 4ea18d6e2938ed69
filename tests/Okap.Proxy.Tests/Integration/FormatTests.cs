using System.Net;
using System.Text.Json.Nodes;
using Okap.Core.Tokens;
using Okap.Proxy.Tests.Infrastructure;
using Okap.Testing;

namespace Okap.Proxy.Tests.Integration;

/// <summary>Raw HTTP in each provider's own wire format (Gemini, Groq, Cohere, OpenAI SSE details), and credential handling.</summary>
[Collection(VaultCollection.Name)]
public sealed class FormatTests(VaultFixture f)
{
    private VaultHost Vault => f.Vault;
    private FakeProvider Fake => f.Fake;

    [Fact]
    public async Task Gemini_generateContent_with_x_goog_api_key()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("google", ["gemini-2.0-flash"], ["chat"]));
        using var client = Vault.Client();
        var res = await client.SendAsync(Http.Post("/v1/google/v1beta/models/gemini-2.0-flash:generateContent", """{"contents":[{"parts":[{"text":"Hi"}]}]}""", ("x-goog-api-key", token)));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.Equal("Hello from fake", (string?)(await res.BodyJson())["candidates"]![0]!["content"]!["parts"]![0]!["text"]);
        var seen = Fake.Last(s => s.Path.EndsWith(":generateContent"))!;
        Assert.Equal("/google/v1beta/models/gemini-2.0-flash:generateContent", seen.Path);
        Assert.Equal("sk-master-google", seen.Header("x-goog-api-key"));
        var budget = await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id);
        Assert.Equal(12, budget!.Grants[0].Day.InputTokens);
        Assert.Equal(5, budget.Grants[0].Day.OutputTokens);
    }

    [Fact]
    public async Task Gemini_key_query_parameter_is_accepted_and_removed()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("google"));
        using var client = Vault.Client();
        var res = await client.SendAsync(Http.Post($"/v1/google/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key={token}", """{"contents":[{"parts":[{"text":"Hi"}]}]}"""));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var text = await res.Content.ReadAsStringAsync();
        Assert.Contains("usageMetadata", text);
        var seen = Fake.Last(s => s.Path.EndsWith(":streamGenerateContent"))!;
        Assert.Equal("?alt=sse", seen.Query);
        Assert.Equal("sk-master-google", seen.Header("x-goog-api-key"));
        Assert.DoesNotContain(token, seen.Query);
    }

    [Fact]
    public async Task Gemini_stream_usage_is_recorded()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("google"));
        using var client = Vault.Client();
        var res = await client.SendAsync(Http.Post("/v1/google/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", """{"contents":[{"parts":[{"text":"Hi"}]}]}""", ("x-goog-api-key", token), ("x-fake-usage", "100,40")));
        await res.Content.ReadAsStringAsync();
        var day = (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day;
        Assert.Equal(100, day.InputTokens);
        Assert.Equal(40, day.OutputTokens);
        // gemini-2.0-flash: 100 * 0.10 + 40 * 0.40 = 10 + 16 micro-dollars
        Assert.Equal(26, day.CostMicros);
    }

    [Fact]
    public async Task Gemini_model_from_path_is_checked()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("google", ["gemini-2.0-flash"]));
        using var client = Vault.Client();
        var res = await client.SendAsync(Http.Post("/v1/google/v1beta/models/gemini-2.5-pro:generateContent", """{"contents":[]}""", ("x-goog-api-key", token)));
        await res.AssertError(403, "model_not_allowed");
        var body = await res.BodyJson();
        Assert.Equal("PERMISSION_DENIED", (string?)body["error"]!["status"]);
    }

    [Fact]
    public async Task Groq_openai_format_under_openai_v1()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("groq"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/groq/chat/completions", Http.Chat("llama-3.1-8b-instant")));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var seen = Fake.Last(s => s.Path.StartsWith("/groq/"))!;
        Assert.Equal("/groq/openai/v1/chat/completions", seen.Path);
        Assert.Equal("Bearer sk-master-groq", seen.Header("authorization"));
        Assert.Equal(12, (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day.InputTokens);
    }

    [Fact]
    public async Task Cohere_v2_chat_usage_from_billed_units_and_error_shape()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("cohere", ["command-r"]));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/cohere/v2/chat", """{"model":"command-r","messages":[{"role":"user","content":"Hi"}]}""", ("x-fake-usage", "30,20")));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var day = (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day;
        Assert.Equal(30, day.InputTokens);
        Assert.Equal(20, day.OutputTokens);

        var refused = await client.SendAsync(Http.Post("/v1/cohere/v2/chat", """{"model":"command-a-03-2025","messages":[]}"""));
        await refused.AssertError(403, "model_not_allowed");
        Assert.Contains("command-a-03-2025", (string?)(await refused.BodyJson())["message"]);
    }

    [Fact]
    public async Task OpenAI_stream_without_include_usage_gets_usage_added_and_hidden()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(stream: true), ("x-fake-usage", "7,3")), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", res.Content.Headers.ContentType!.MediaType);
        var text = await res.Content.ReadAsStringAsync();
        var seen = Fake.Last(s => s.Path == "/openai/v1/chat/completions")!;
        Assert.True((bool)seen.Json!["stream_options"]!["include_usage"]!);
        Assert.DoesNotContain("\"choices\":[]", text);
        Assert.Contains("data: [DONE]", text);
        Assert.Equal(1 + 4, text.Split("\"content\"").Length); // role chunk + 3 words (+1 for split)
        var day = (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day;
        Assert.Equal(7, day.InputTokens);
        Assert.Equal(3, day.OutputTokens);
    }

    [Fact]
    public async Task OpenAI_stream_with_include_usage_keeps_the_usage_chunk()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(stream: true, extra: ",\"stream_options\":{\"include_usage\":true}")));
        var text = await res.Content.ReadAsStringAsync();
        Assert.Contains("\"choices\":[]", text);
    }

    [Fact]
    public async Task Stream_events_reach_the_client_before_the_stream_ends()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(stream: true), ("x-fake-delay-ms", "400")), HttpCompletionOption.ResponseHeadersRead);
        using var stream = await res.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(stream);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var first = await reader.ReadLineAsync();
        Assert.StartsWith("data: ", first);
        Assert.True(started.ElapsedMilliseconds < 350, $"first event took {started.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Client_credentials_cookies_and_forwarding_headers_are_stripped()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(),
            ("Cookie", "session=secret"), ("x-api-key", "other"), ("OpenAI-Organization", "org-x"), ("X-Forwarded-Host", "evil.example"), ("x-goog-api-key", "zzz")));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.False(res.Headers.Contains("Set-Cookie"));
        var seen = Fake.Last(s => s.Path == "/openai/v1/chat/completions")!;
        Assert.Null(seen.Header("cookie"));
        Assert.Null(seen.Header("x-api-key"));
        Assert.Null(seen.Header("x-goog-api-key"));
        Assert.Null(seen.Header("openai-organization"));
        Assert.Null(seen.Header("x-forwarded-host"));
        Assert.Equal("Bearer sk-master-openai", seen.Header("authorization"));
        Assert.StartsWith("127.0.0.1:", seen.Header("host"));
    }

    [Fact]
    public async Task Model_listing_is_allowed_to_any_token_and_not_billed()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", ["gpt-4o-mini"], ["chat"], new Limits { DailySpendMicros = 1 }));
        using var client = Vault.Client(token);
        var res = await client.GetAsync("/v1/openai/models");
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.Equal(0, (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day.Requests);
    }

    [Fact]
    public async Task Azure_openai_backend_with_api_key()
    {
        const string owner = "own_azure";
        await Vault.SetKeyAsync(owner, "openai", "azure-secret", Fake.Url + "/azure/openai/v1", "azure-api-key");
        var (token, _) = await Vault.IssueForAsync(owner, VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var seen = Fake.Last(s => s.Path.StartsWith("/azure/"))!;
        Assert.Equal("/azure/openai/v1/chat/completions", seen.Path);
        Assert.Equal("azure-secret", seen.Header("api-key"));
        Assert.Null(seen.Header("authorization"));
    }

    [Fact]
    public async Task Azure_openai_backend_with_managed_identity_and_no_key()
    {
        const string owner = "own_azure_mi";
        await Vault.SetKeyAsync(owner, "openai", null, Fake.Url + "/azuremi/openai/v1", "managed-identity");
        var (token, _) = await Vault.IssueForAsync(owner, VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var seen = Fake.Last(s => s.Path.StartsWith("/azuremi/"))!;
        Assert.Equal("Bearer entra-token-fake", seen.Header("authorization"));
    }

    [Fact]
    public async Task Ollama_with_owner_base_url_and_no_key()
    {
        const string owner = "own_ollama";
        await Vault.SetKeyAsync(owner, "ollama", null, Fake.Url + "/ollama/v1", "none");
        var (token, id) = await Vault.IssueForAsync(owner, VaultHost.Grant("ollama", limits: new Limits { DailySpendMicros = 1000 }));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/ollama/chat/completions", Http.Chat("llama3.2:3b")));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var seen = Fake.Last(s => s.Path.StartsWith("/ollama/"))!;
        Assert.Null(seen.Header("authorization"));
        var day = (await Vault.Budget.GetTokenBudgetAsync(owner, id))!.Grants[0].Day;
        Assert.Equal(0, day.CostMicros); // Ollama is priced free in the catalog
        Assert.Equal(12, day.InputTokens);
    }

    [Fact]
    public async Task Owner_defined_openai_compatible_provider()
    {
        const string owner = "own_custom";
        await Vault.SetKeyAsync(owner, "my-llm", "custom-key", Fake.Url + "/custom/v1");
        var (token, _) = await Vault.IssueForAsync(owner, VaultHost.Grant("my-llm"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/my-llm/chat/completions", Http.Chat("anything")));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.Equal("Bearer custom-key", Fake.Last(s => s.Path.StartsWith("/custom/"))!.Header("authorization"));
    }

    [Fact]
    public async Task Redirects_are_neither_followed_nor_passed_on()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        var before = Fake.Seen.Count;
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(), ("x-fake-mode", "redirect")));
        Assert.Equal(HttpStatusCode.BadGateway, res.StatusCode);
        Assert.Null(res.Headers.Location);
        Assert.Equal("upstream_unavailable", (string?)(await res.BodyJson())["error"]!["type"]);
        Assert.Equal(before + 1, Fake.Seen.Count);
    }

    [Fact]
    public async Task An_upstream_html_answer_is_served_inert_without_its_browser_steering_headers()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Json(HttpMethod.Get, "/v1/openai/anything", "", ("x-fake-mode", "hostile")));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.Equal("text/plain", res.Content.Headers.ContentType!.MediaType);
        Assert.Equal("sandbox; default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'", string.Join(";", res.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", string.Join("", res.Headers.GetValues("X-Content-Type-Options")));
        foreach (var name in new[] { "Set-Cookie", "Refresh", "Clear-Site-Data", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Link", "Service-Worker-Allowed", "Location" })
            Assert.False(res.Headers.Contains(name), name);
        Assert.False(res.Content.Headers.Contains("Content-Location"));
        Assert.Contains("<script>", await res.Content.ReadAsStringAsync());   // the body is untouched, only labelled as text
    }

    [Fact]
    public async Task The_vaults_own_refusals_carry_the_inert_headers_too()
    {
        using var client = Vault.Client("okap_not-a-real-token");
        var res = await client.GetAsync("/v1/openai/models");
        Assert.Equal(HttpStatusCode.Unauthorized, res.StatusCode);
        Assert.StartsWith("sandbox;", string.Join(";", res.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("nosniff", string.Join("", res.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task Platform_identity_and_forwarding_headers_never_reach_the_provider()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var sent = new[]
        {
            ("X-MS-TOKEN-AAD-ACCESS-TOKEN", "eyJ.aad.token"), ("X-MS-TOKEN-AAD-ID-TOKEN", "eyJ.id"), ("X-MS-CLIENT-PRINCIPAL", "eyJwcmluY2lwYWwi"),
            ("X-MS-CLIENT-PRINCIPAL-NAME", "alice@example.com"), ("X-MS-CLIENT-PRINCIPAL-ID", "1234"), ("X-Original-URL", "/v1/openai/chat/completions?key=x"),
            ("X-Forwarded-Port", "443"), ("X-Forwarded-Server", "edge"), ("X-ARR-SSL", "2048|256"), ("X-ARR-LOG-ID", "abc"), ("X-Azure-ClientIP", "203.0.113.9"),
            ("X-Azure-FDID", "fd-id"), ("DISGUISED-HOST", "vault.example.com"), ("X-WAWS-Unencoded-URL", "/x"), ("X-Client-IP", "203.0.113.9"),
            ("True-Client-IP", "203.0.113.9"), ("Origin", "https://evil.example"), ("Referer", "https://evil.example/page"),
        };
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(), sent));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var seen = Fake.Last(s => s.Path.EndsWith("/chat/completions"))!;
        foreach (var (name, _) in sent) Assert.Null(seen.Header(name));
        Assert.Equal("Bearer sk-master-openai", seen.Header("authorization"));
    }
}
