using System.Net;
using Okap.Core.Tokens;
using Okap.Proxy.Tests.Infrastructure;
using Okap.Testing;

namespace Okap.Proxy.Tests.Integration;

/// <summary>
/// Output ceilings and output counts written in every spelling a provider's JSON parser reads as a whole number
/// (<c>128.0</c>, <c>1.28e2</c>, <c>1e5</c>) are counted like <c>128</c>; fractions, numbers past 64 bits and strings,
/// which providers read differently, are refused with 400 before anything is sent.
/// </summary>
[Collection(VaultCollection.Name)]
public sealed class NumericSpellingTests(VaultFixture f)
{
    private VaultHost Vault => f.Vault;
    private FakeProvider Fake => f.Fake;
    private const string GeminiPath = "/v1/google/v1beta/models/gemini-2.0-flash:generateContent";

    private async Task<HttpResponseMessage> ChatAsync(string token, string extra)
    {
        using var client = Vault.Client(token);
        return await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(extra: extra), ("x-fake-usage", "10,10")));
    }

    private async Task<HttpResponseMessage> GeminiAsync(string token, string body)
    {
        using var client = Vault.Client();
        return await client.SendAsync(Http.Post(GeminiPath, body, ("x-goog-api-key", token), ("x-fake-usage", "10,10")));
    }

    [Theory]
    [InlineData("\"max_tokens\":1.28e2")]
    [InlineData("\"max_tokens\":101.0")]
    [InlineData("\"max_completion_tokens\":1e5")]
    [InlineData("\"max_tokens\":100,\"max_tokens\":1E3")]
    [InlineData("\"max_tokens\":0.0")]
    public async Task A_ceiling_over_tokens_per_request_is_refused_whatever_its_spelling(string field)
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { TokensPerRequest = 100 }));
        var before = Fake.Seen.Count;
        await (await ChatAsync(token, "," + field)).AssertError(400, "tokens_per_request_exceeded");
        Assert.Equal(before, Fake.Seen.Count);
    }

    [Fact]
    public async Task A_ceiling_within_tokens_per_request_in_exponent_form_is_forwarded()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { TokensPerRequest = 100 }));
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(token, ",\"max_tokens\":1e2")).StatusCode);
    }

    [Theory]
    [InlineData("\"max_tokens\":100.5", "max_tokens")]
    [InlineData("\"max_tokens\":99999999999999999999", "max_tokens")]
    [InlineData("\"max_tokens\":1e400", "max_tokens")]
    [InlineData("\"max_tokens\":\"50\"", "max_tokens")]
    [InlineData("\"n\":1.5", "n")]
    [InlineData("\"n\":-1e30", "n")]
    public async Task A_ceiling_or_count_that_is_not_a_whole_64_bit_number_is_a_clear_400(string field, string name)
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 1_000_000 }));
        var before = Fake.Seen.Count;
        var res = await ChatAsync(token, "," + field);
        await res.AssertError(400, "invalid_request");
        Assert.Contains(name + " must be a whole number", (string?)(await res.BodyJson())["error"]!["message"]);
        Assert.Equal(before, Fake.Seen.Count);
    }

    [Theory]
    [InlineData("3.0")]
    [InlineData("3e0")]
    [InlineData("1e5")]
    public async Task Every_output_asked_for_is_reserved_however_n_is_spelled(string n)
    {
        // gpt-4o-mini: 1000 output tokens ≈ 600 micro-dollars, under the 1000 cap; three or more outputs are not.
        var (one, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 1000 }));
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync(one, ",\"max_tokens\":1000,\"n\":1.0")).StatusCode);
        var (many, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 1000 }));
        await (await ChatAsync(many, ",\"max_tokens\":1000,\"n\":" + n)).AssertError(429, "spend_limit_exceeded");
    }

    [Fact]
    public async Task Gemini_snake_case_generation_config_is_capped_and_counted()
    {
        var (limited, _) = await Vault.IssueAsync(VaultHost.Grant("google", limits: new Limits { TokensPerRequest = 64 }));
        await (await GeminiAsync(limited, """{"contents":[],"generation_config":{"max_output_tokens":65}}""")).AssertError(400, "tokens_per_request_exceeded");
        await (await GeminiAsync(limited, """{"contents":[],"generationConfig":{"max_output_tokens":6.5e1}}""")).AssertError(400, "tokens_per_request_exceeded");

        // A missing ceiling is set in the object the body already has, not in a second one.
        Assert.Equal(HttpStatusCode.OK, (await GeminiAsync(limited, """{"contents":[],"generation_config":{"temperature":1}}""")).StatusCode);
        var sent = Fake.Last(s => s.Path.EndsWith(":generateContent", StringComparison.Ordinal))!.Json!;
        Assert.Equal(64, (int)sent["generation_config"]!["max_output_tokens"]!);
        Assert.Null(sent["generationConfig"]);

        // gemini-2.0-flash: 1000 output tokens ≈ 400 micro-dollars; three candidates do not fit under 1000.
        async Task<HttpResponseMessage> CappedAsync(string body) =>
            await GeminiAsync((await Vault.IssueAsync(VaultHost.Grant("google", limits: new Limits { DailySpendMicros = 1000 }))).Token, body);
        Assert.Equal(HttpStatusCode.OK, (await CappedAsync("""{"contents":[],"generationConfig":{"maxOutputTokens":1000,"candidateCount":1}}""")).StatusCode);
        await (await CappedAsync("""{"contents":[],"generation_config":{"max_output_tokens":1e3,"candidate_count":3}}""")).AssertError(402, "spend_limit_exceeded");
        await (await CappedAsync("""{"contents":[],"generationConfig":{"maxOutputTokens":1000,"candidateCount":3.0}}""")).AssertError(402, "spend_limit_exceeded");
    }
}
