using System.Net;
using Okap.Core.Audit;
using Okap.Core.Metering;
using Okap.Core.Pricing;
using Okap.Core.Tokens;
using Okap.Proxy.Tests.Infrastructure;
using Okap.Testing;

namespace Okap.Proxy.Tests.Integration;

/// <summary>Every refusal rule, with its status and error body.</summary>
[Collection(VaultCollection.Name)]
public sealed class EnforcementTests(VaultFixture f)
{
    private VaultHost Vault => f.Vault;
    private FakeProvider Fake => f.Fake;

    private async Task<HttpResponseMessage> ChatAsync(string token, string body, params (string, string)[] headers)
    {
        using var client = Vault.Client(token);
        return await client.SendAsync(Http.Post("/v1/openai/chat/completions", body, headers));
    }

    [Fact]
    public async Task Missing_and_unknown_tokens_are_401()
    {
        using var client = Vault.Client();
        await (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).AssertError(401, "invalid_token");
        await (await ChatAsync("okap_not-a-real-token", Http.Chat())).AssertError(401, "invalid_token");
        await (await ChatAsync("sk-real-openai-key", Http.Chat())).AssertError(401, "invalid_token");
    }

    [Fact]
    public async Task Revoked_token_is_401_token_revoked_with_the_protocol_body()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        await Vault.Tokens.RevokeAsync(VaultHost.Owner, id, DateTimeOffset.UtcNow, default);
        var res = await ChatAsync(token, Http.Chat());
        await res.AssertError(401, "token_revoked");
        Assert.Equal("This OKAP token has been revoked", (string?)(await res.BodyJson())["error"]!["message"]);
    }

    [Fact]
    public async Task Expired_token_is_401_token_expired()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", expires: DateTimeOffset.UtcNow.AddSeconds(-1)));
        await (await ChatAsync(token, Http.Chat())).AssertError(401, "token_expired");
    }

    [Fact]
    public async Task Wrong_provider_is_403()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("anthropic"));
        await (await ChatAsync(token, Http.Chat())).AssertError(403, "provider_not_allowed");
    }

    [Fact]
    public async Task Capability_from_route_is_enforced()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", caps: ["chat"]));
        using var client = Vault.Client(token);
        await (await client.SendAsync(Http.Post("/v1/openai/embeddings", """{"model":"text-embedding-3-small","input":"x"}"""))).AssertError(403, "capability_not_allowed");
        await (await client.SendAsync(Http.Post("/v1/openai/images/generations", """{"model":"dall-e-3","prompt":"x"}"""))).AssertError(403, "capability_not_allowed");
        await (await client.GetAsync("/v1/openai/files")).AssertError(403, "capability_not_allowed");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode);
    }

    [Fact]
    public async Task Other_paths_pass_only_for_unrestricted_tokens()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.GetAsync("/v1/openai/files");
        Assert.Equal(HttpStatusCode.NotFound, res.StatusCode); // the fake's own 404, passed through
        Assert.Contains("fake: no such route", await res.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("tokens_per_request")]
    [InlineData("requests_per_minute")]
    [InlineData("requests_per_day")]
    public async Task Unmetered_routes_are_refused_to_a_token_with_only_a_size_or_rate_limit(string limit)
    {
        var limits = limit switch
        {
            "tokens_per_request" => new Limits { TokensPerRequest = 100 },
            "requests_per_minute" => new Limits { RequestsPerMinute = 1000 },
            _ => new Limits { RequestsPerDay = 1000 },
        };
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: limits));
        using var client = Vault.Client(token);
        var before = Fake.Seen.Count;
        await (await client.SendAsync(Http.Post("/v1/openai/batches", """{"input_file_id":"file-1","endpoint":"/v1/chat/completions","completion_window":"24h"}"""))).AssertError(403, "capability_not_allowed");
        await (await client.SendAsync(Http.Post("/v1/openai/uploads", """{"purpose":"batch","filename":"a.jsonl","bytes":1,"mime_type":"text/jsonl"}"""))).AssertError(403, "capability_not_allowed");
        await (await client.GetAsync("/v1/openai/files")).AssertError(403, "capability_not_allowed");
        Assert.Equal(before, Fake.Seen.Count);
        // Model calls within the limit still pass.
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(extra: ",\"max_tokens\":10")))).StatusCode);
    }

    [Fact]
    public async Task Requests_per_minute_gives_429_that_no_sdk_sleeps_through()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { RequestsPerMinute = 2 }));
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, Http.Chat())).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, Http.Chat())).StatusCode);
        var third = await ChatAsync(token, Http.Chat());
        await third.AssertError(429, "rate_limit_exceeded");
        // The sliding window frees a slot only when the bucket the first calls were counted in leaves it, about a
        // minute later: far longer than MaxRetryAfter, so the wait is in the message and SDKs are told not to retry.
        Assert.False(third.Headers.Contains("Retry-After"));
        Assert.False(third.Headers.Contains("retry-after-ms"));
        Assert.Equal("false", third.Headers.GetValues("x-should-retry").Single());
        var message = (string)(await third.BodyJson())["error"]!["message"]!;
        Assert.Matches(@"allows 2 requests per minute; try again in (5[5-9]|6[0-5]) s\.$", message);
        var perMinute = (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].RequestsPerMinute!;
        Assert.Equal((2, 0), (perMinute.Used, perMinute.Remaining));
    }

    [Fact]
    public async Task Requests_per_day_gives_429_without_retry_after_until_midnight()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { RequestsPerDay = 1 }));
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, Http.Chat())).StatusCode);
        var res = await ChatAsync(token, Http.Chat());
        await res.AssertError(429, "rate_limit_exceeded");
        Assert.Null(res.Headers.RetryAfter);
        Assert.Equal("false", res.Headers.GetValues("x-should-retry").Single());
        Assert.Contains("allows 1 requests per day (UTC); try again in", (string)(await res.BodyJson())["error"]!["message"]!);
    }

    [Fact]
    public async Task Tokens_per_request_refuses_a_larger_ceiling_and_sets_a_missing_one()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { TokensPerRequest = 100 }));
        await (await ChatAsync(token, Http.Chat(extra: ",\"max_tokens\":500"))).AssertError(400, "tokens_per_request_exceeded");
        await (await ChatAsync(token, Http.Chat(extra: ",\"max_completion_tokens\":101"))).AssertError(400, "tokens_per_request_exceeded");
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, Http.Chat(extra: ",\"max_tokens\":100"))).StatusCode);
        Assert.Equal(100, (int)Fake.Last(s => s.Path == "/openai/v1/chat/completions")!.Json!["max_tokens"]!);
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, Http.Chat())).StatusCode);
        Assert.Equal(100, (int)Fake.Last(s => s.Path == "/openai/v1/chat/completions")!.Json!["max_completion_tokens"]!);
    }

    [Fact]
    public async Task Tokens_per_request_for_gemini_uses_generation_config()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("google", limits: new Limits { TokensPerRequest = 64 }));
        using var client = Vault.Client();
        var res = await client.SendAsync(Http.Post("/v1/google/v1beta/models/gemini-2.0-flash:generateContent", """{"contents":[],"generationConfig":{"maxOutputTokens":65}}""", ("x-goog-api-key", token)));
        await res.AssertError(400, "tokens_per_request_exceeded");
        res = await client.SendAsync(Http.Post("/v1/google/v1beta/models/gemini-2.0-flash:generateContent", """{"contents":[]}""", ("x-goog-api-key", token)));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        Assert.Equal(64, (int)Fake.Last(s => s.Path.EndsWith(":generateContent"))!.Json!["generationConfig"]!["maxOutputTokens"]!);
    }

    [Fact]
    public async Task Spend_capped_token_is_refused_an_unpriced_model()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 1_000_000 }));
        var res = await ChatAsync(token, Http.Chat("my-azure-deployment"));
        await res.AssertError(403, "model_not_priced");
        Assert.Contains("my-azure-deployment", (string?)(await res.BodyJson())["error"]!["message"]);
        // An uncapped token may use it (usage is still counted).
        var (free, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(free, Http.Chat("my-azure-deployment"))).StatusCode);
    }

    [Fact]
    public async Task Owner_price_override_prices_a_model()
    {
        const string owner = "own_prices";
        await Vault.SetKeyAsync(owner, "openai", "sk-x");
        await Vault.Prices.UpsertAsync(new PriceOverride(owner, "openai", "my-deployment", new ModelPrice(1_000_000, null, 2_000_000), DateTimeOffset.UtcNow), default);
        var (token, id) = await Vault.IssueForAsync(owner, VaultHost.Grant("openai", limits: new Limits { MonthlySpendMicros = 1_000_000 }));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat("my-deployment", extra: ",\"max_tokens\":10"), ("x-fake-usage", "1000,500")));
        Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        var month = (await Vault.Budget.GetTokenBudgetAsync(owner, id))!.Grants[0].Month;
        Assert.Equal(1000 + 1000, month.CostMicros); // 1000 × $1/M + 500 × $2/M
        Assert.Equal(1_000_000 - 2000, month.RemainingMicros);
    }

    [Fact]
    public async Task Spend_cap_refuses_openai_format_with_429_and_no_retry_when_exhausted()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 700 }));
        // gpt-4o-mini: worst case ≈ body bytes × $0.15/M + 1000 × $0.60/M ≈ 600 micro-dollars
        var ok = await ChatAsync(token, Http.Chat(extra: ",\"max_tokens\":1000"), ("x-fake-usage", "100,1000"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var refused = await ChatAsync(token, Http.Chat(extra: ",\"max_tokens\":1000"), ("x-fake-usage", "100,1000"));
        await refused.AssertError(429, "spend_limit_exceeded");
        Assert.Null(refused.Headers.RetryAfter);
        Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
        var day = (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day;
        Assert.Equal(615, day.CostMicros); // 100 × 0.15 + 1000 × 0.60, rounded up
        Assert.Equal(0, day.ReservedMicros);
    }

    [Fact]
    public async Task Spend_refusal_says_how_much_of_the_cap_remains_when_this_call_could_pass_it()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 700 }));
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, Http.Chat(extra: ",\"max_tokens\":1000"), ("x-fake-usage", "100,1000"))).StatusCode);
        var refused = await ChatAsync(token, Http.Chat(extra: ",\"max_tokens\":1000"));
        await refused.AssertError(429, "spend_limit_exceeded");
        var message = (string)(await refused.BodyJson())["error"]!["message"]!;
        // 700 - 615 spent = 85 micro-dollars left; the call's worst case (≈ 600) is more.
        Assert.Matches(@"^Daily spend cap \$0\.0007 would be passed: this call may cost up to \$0\.0006\d* and \$0\.000085 of the daily \$0\.0007 cap remains", message);
    }

    [Fact]
    public async Task Spend_refusal_says_the_cap_is_reached_when_nothing_of_it_remains()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 700 }));
        // The call costs 150 + 600 = 750 micro-dollars: more than its reservation, and past the cap.
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, Http.Chat(extra: ",\"max_tokens\":1000"), ("x-fake-usage", "1000,1000"))).StatusCode);
        var refused = await ChatAsync(token, Http.Chat(extra: ",\"max_tokens\":1"));
        await refused.AssertError(429, "spend_limit_exceeded");
        Assert.StartsWith("Daily spend cap $0.0007 reached: this OKAP token may spend $0.0007 per day (UTC) and nothing of it remains.",
            (string)(await refused.BodyJson())["error"]!["message"]!);
    }

    [Fact]
    public async Task Spend_cap_refuses_anthropic_with_402_and_no_retry()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("anthropic", limits: new Limits { MonthlySpendMicros = 1 }));
        using var client = Vault.Client();
        var refused = await client.SendAsync(Http.Post("/v1/anthropic/v1/messages",
            """{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}""", ("x-api-key", token)));
        await refused.AssertError(402, "spend_limit_exceeded");
        Assert.Null(refused.Headers.RetryAfter);
        Assert.Equal("false", refused.Headers.GetValues("x-should-retry").Single());
        Assert.StartsWith("Monthly spend cap $0.000001 would be passed: this call may cost up to $", (string)(await refused.BodyJson())["error"]!["message"]!);
    }

    [Fact]
    public async Task Json_body_over_the_limit_is_413()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        var big = Http.Chat(extra: ",\"pad\":\"" + new string('x', 1024 * 1024) + "\"");
        await (await ChatAsync(token, big)).AssertError(413, "payload_too_large");
    }

    [Fact]
    public async Task Non_json_body_is_refused_for_restricted_tokens()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", ["whisper-1"]));
        using var client = Vault.Client(token);
        var form = new MultipartFormDataContent { { new StringContent("whisper-1"), "model" }, { new ByteArrayContent([1, 2, 3]), "file", "a.wav" } };
        var res = await client.PostAsync("/v1/openai/audio/transcriptions", form);
        await res.AssertError(400, "invalid_request");
    }

    [Fact]
    public async Task Refusals_are_audited_and_use_is_touched_on_flush()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", ["gpt-4o-mini"]));
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, Http.Chat())).StatusCode);
        await (await ChatAsync(token, Http.Chat("gpt-4o"))).AssertError(403, "model_not_allowed");
        await Vault.FlushAsync();
        Assert.Contains(Vault.Audit.Events, e => e.TokenId == id && e.Event == AuditEvents.TokenRefused && e.Detail!.Contains("model_not_allowed"));
        var stored = await Vault.Tokens.GetAsync(VaultHost.Owner, id, default);
        Assert.NotNull(stored!.LastUsedAt);
        var usage = await Vault.Usage.GetAsync(VaultHost.Owner, Okap.Core.Metering.UsageKeys.Grant(id, "openai"), [UsageKeys.Day(DateTimeOffset.UtcNow)], default);
        Assert.Equal(1, usage.Single().Requests);
    }

    [Fact]
    public async Task Unsafe_paths_and_bad_provider_ids_are_404()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        await (await client.GetAsync("/v1/OpenAI/models")).AssertError(404, "not_found");
        await (await client.GetAsync("/v1/openai/a%5C..%5Cb")).AssertError(404, "not_found");
    }

    [Theory]
    [InlineData("/v1/openai//chat/completions")]
    [InlineData("/v1/openai/chat//completions")]
    [InlineData("/v1/openai/chat/completions//")]
    [InlineData("/v1/openai/%2Fchat/completions")]
    [InlineData("/v1/openai/chat%2fcompletions")]
    public async Task Empty_segments_and_encoded_slashes_are_404_and_never_forwarded(string path)
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var before = Fake.Seen.Count;
        await (await client.SendAsync(Http.Post(path, Http.Chat()))).AssertError(404, "not_found");
        Assert.Equal(before, Fake.Seen.Count);
    }

    [Theory]
    [InlineData(new byte[] { 0x22, 0x5C, 0x75, 0x64, 0x38, 0x30, 0x30, 0x22 })] // "\ud800": an escaped lone surrogate
    [InlineData(new byte[] { 0x22, 0x67, 0x70, 0x74, 0xFF, 0xFE, 0x22 })]       // "gpt\xFF\xFE": invalid UTF-8
    [InlineData(new byte[] { 0x22, 0xED, 0xA0, 0x80, 0x22 })]                   // a surrogate encoded as UTF-8
    public async Task A_model_that_is_not_valid_text_is_a_clear_400(byte[] model)
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", ["gpt-4o-mini"]));
        using var client = Vault.Client(token);
        var body = new List<byte>("{\"model\":"u8.ToArray());
        body.AddRange(model);
        body.AddRange(",\"messages\":[]}"u8.ToArray());
        var content = new ByteArrayContent(body.ToArray());
        content.Headers.ContentType = new("application/json");
        var before = Fake.Seen.Count;
        var res = await client.PostAsync("/v1/openai/chat/completions", content);
        await res.AssertError(400, "invalid_request");
        Assert.Contains("model is not valid text", (string?)(await res.BodyJson())["error"]!["message"]);
        Assert.Equal(before, Fake.Seen.Count);
    }
}
