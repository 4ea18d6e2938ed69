using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using OpenAI.Chat;
using Okap.Core.Tokens;
using Okap.Proxy.Tests.Infrastructure;
using Okap.Testing;

namespace Okap.Proxy.Tests.Integration;

/// <summary>
/// Every limit refusal as an app sees it through the official client SDKs in their DEFAULT configuration (default retry
/// policy and timeouts): the .NET OpenAI and Anthropic SDKs in process, the npm <c>openai</c> and <c>@anthropic-ai/sdk</c>
/// clients through node. Each asserts the error the app can catch, that the vault's message reaches it, and that the
/// call returns within a few seconds (an SDK that slept through a Retry-After would hang it for a minute or a day).
/// </summary>
[Collection(VaultCollection.Name)]
public sealed class RefusalTests(VaultFixture f)
{
    /// <summary>Longest a refused call may keep the app waiting, SDK retries included.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private VaultHost Vault => f.Vault;

    private ChatClient DefaultOpenAI(string token) =>
        new("gpt-4o-mini", new ApiKeyCredential(token), new OpenAIClientOptions { Endpoint = new Uri(Vault.Url + "/v1/openai") });

    private AnthropicClient DefaultAnthropic(string token) => new() { ApiKey = token, BaseUrl = Vault.Url + "/v1/anthropic" };

    private static MessageCreateParams Hi => new() { Model = "claude-sonnet-4-5", MaxTokens = 100, Messages = [new UserMessageParam { Content = "Hi" }] };

    private static async Task<(T Error, TimeSpan Elapsed)> RefusedAsync<T>(Func<Task> call) where T : Exception
    {
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<T>(call);
        return (error, watch.Elapsed);
    }

    private Task<JsonObject> NpmAsync(string sdk, string token, bool stream = false) =>
        NpmSdkClient.CallAsync(sdk, Vault.Url + "/v1/" + sdk, token, sdk == "openai" ? "gpt-4o-mini" : "claude-sonnet-4-5", stream);

    private static void AssertNpmRefused(JsonObject got, string errorClass, int status, string code, string message)
    {
        Assert.False(got["ok"]!.GetValue<bool>(), got.ToJsonString());
        Assert.Contains(errorClass, got["classes"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal(status, got["status"]!.GetValue<int>());
        Assert.Contains(message, got["message"]!.GetValue<string>());
        // OpenAI's SDK reads error.code, Anthropic's error.error.type: both name the vault's refusal.
        Assert.Equal(code, (got["code"] ?? got["type"])!.GetValue<string>());
        Assert.InRange(got["elapsedMs"]!.GetValue<int>(), 0, (int)Prompt.TotalMilliseconds);
    }

    private static Limits LimitOf(string limit) => limit switch
    {
        "rpm" => new Limits { RequestsPerMinute = 1 },
        "rpd" => new Limits { RequestsPerDay = 1 },
        "daily_spend" => new Limits { DailySpendMicros = 1 },
        _ => new Limits { MonthlySpendMicros = 1 },
    };

    /// <summary>A token whose <paramref name="limit"/> is used up: one call spent a rate limit; a 1 micro-dollar cap refuses the first.</summary>
    private async Task<string> UsedUpAsync(string provider, string limit)
    {
        var limits = LimitOf(limit);
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant(provider, limits: limits));
        if (limits.HasSpendCap) return token;
        var first = await NpmAsync(provider, token);
        Assert.True(first["ok"]!.GetValue<bool>(), first.ToJsonString());
        return token;
    }

    [Theory]
    [InlineData("openai", "rpm", "RateLimitError", 429, "rate_limit_exceeded", "allows 1 requests per minute; try again in")]
    [InlineData("openai", "rpd", "RateLimitError", 429, "rate_limit_exceeded", "allows 1 requests per day (UTC); try again in")]
    [InlineData("openai", "daily_spend", "RateLimitError", 429, "spend_limit_exceeded", "Daily spend cap $0.000001 would be passed")]
    [InlineData("anthropic", "rpd", "RateLimitError", 429, "rate_limit_exceeded", "allows 1 requests per day (UTC)")]
    [InlineData("anthropic", "monthly_spend", "PaymentRequiredError", 402, "spend_limit_exceeded", "Monthly spend cap $0.000001 would be passed")]
    public async Task Npm_sdk_raises_a_specific_error_at_once_when_a_limit_is_used_up(string provider, string limit, string errorClass, int status, string code, string message)
    {
        var token = await UsedUpAsync(provider, limit);
        AssertNpmRefused(await NpmAsync(provider, token), errorClass, status, code, message);
    }

    [Fact]
    public async Task Npm_sdks_get_AuthenticationError_for_revoked_and_expired_tokens()
    {
        var (revoked, id) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        await Vault.Tokens.RevokeAsync(VaultHost.Owner, id, DateTimeOffset.UtcNow, default);
        AssertNpmRefused(await NpmAsync("openai", revoked), "AuthenticationError", 401, "token_revoked", "This OKAP token has been revoked");

        var (expired, _) = await Vault.IssueAsync(VaultHost.Grant("anthropic", expires: DateTimeOffset.UtcNow.AddSeconds(-1)));
        AssertNpmRefused(await NpmAsync("anthropic", expired), "AuthenticationError", 401, "token_expired", "expired");
    }

    [Fact]
    public async Task Npm_openai_stream_shows_no_usage_field_the_client_did_not_ask_for()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        var got = await NpmAsync("openai", token, stream: true);
        Assert.True(got["ok"]!.GetValue<bool>(), got.ToJsonString());
        Assert.Equal("Hello from fake", got["text"]!.GetValue<string>());
        var chunks = got["chunks"]!.AsArray();
        Assert.NotEmpty(chunks);
        Assert.All(chunks, c => Assert.False(c!.AsObject().ContainsKey("usage"), c.ToJsonString()));
        // The vault still metered the stream from the usage chunk it asked for and removed.
        Assert.Equal(5, (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day.OutputTokens);
    }

    [Fact]
    public async Task Dotnet_openai_with_its_default_retries_returns_rate_and_spend_refusals_promptly()
    {
        foreach (var (limits, code, message) in new[]
        {
            (new Limits { RequestsPerMinute = 1 }, "rate_limit_exceeded", "allows 1 requests per minute; try again in"),
            (new Limits { RequestsPerDay = 1 }, "rate_limit_exceeded", "allows 1 requests per day (UTC)"),
            (new Limits { DailySpendMicros = 1 }, "spend_limit_exceeded", "Daily spend cap $0.000001 would be passed"),
        })
        {
            var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: limits));
            var client = DefaultOpenAI(token);
            if (!limits.HasSpendCap) await client.CompleteChatAsync([new UserChatMessage("Hi")]);
            var (error, elapsed) = await RefusedAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("Hi")]));
            Assert.Equal(429, error.Status);
            Assert.Contains(code, error.Message);
            Assert.Contains(message, error.Message);
            Assert.True(elapsed < Prompt, $"{code}: the SDK kept the app waiting {elapsed}");
        }
    }

    [Fact]
    public async Task Dotnet_anthropic_with_its_default_retries_maps_refusals_to_specific_exceptions_promptly()
    {
        var (spend, _) = await Vault.IssueAsync(VaultHost.Grant("anthropic", limits: new Limits { DailySpendMicros = 1 }));
        var (paid, paidElapsed) = await RefusedAsync<AnthropicPaymentRequiredException>(() => DefaultAnthropic(spend).Messages.Create(Hi));
        Assert.Contains("Daily spend cap $0.000001 would be passed", paid.Message);
        Assert.True(paidElapsed < Prompt, $"spend: {paidElapsed}");

        var (daily, _) = await Vault.IssueAsync(VaultHost.Grant("anthropic", limits: new Limits { RequestsPerDay = 1 }));
        await DefaultAnthropic(daily).Messages.Create(Hi);
        var (limited, limitedElapsed) = await RefusedAsync<AnthropicRateLimitException>(() => DefaultAnthropic(daily).Messages.Create(Hi));
        Assert.Contains("allows 1 requests per day (UTC)", limited.Message);
        Assert.True(limitedElapsed < Prompt, $"rpd: {limitedElapsed}");

        var (revoked, id) = await Vault.IssueAsync(VaultHost.Grant("anthropic"));
        await Vault.Tokens.RevokeAsync(VaultHost.Owner, id, DateTimeOffset.UtcNow, default);
        var (gone, goneElapsed) = await RefusedAsync<AnthropicUnauthorizedException>(() => DefaultAnthropic(revoked).Messages.Create(Hi));
        Assert.Contains("This OKAP token has been revoked", gone.Message);
        Assert.True(goneElapsed < Prompt, $"revoked: {goneElapsed}");
    }
}

/// <summary>The one refusal worth an SDK retry: a per-minute slot that frees within <c>MaxRetryAfter</c>, on the vault's clock.</summary>
public sealed class ShortWaitRefusalTests : IAsyncLifetime
{
    // Half a second into a 5-second bucket of the sliding window.
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 5_000 * 5_000) + 500));
    private readonly FakeProvider _fake = new();
    private VaultHost _vault = null!;

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _vault = await VaultHost.StartAsync(_fake, time: _time);
    }

    public async Task DisposeAsync()
    {
        await _vault.DisposeAsync();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task A_slot_that_frees_within_two_seconds_is_announced_with_an_honest_retry_after()
    {
        var (token, _) = await _vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { RequestsPerMinute = 1 }));
        using var client = _vault.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode);

        // The call's bucket leaves the 13-bucket window 64.5 s from now; 63 s on, the wait is 1.5 s.
        _time.Advance(TimeSpan.FromSeconds(63));
        var refused = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()));
        await refused.AssertError(429, "rate_limit_exceeded");
        Assert.Equal(TimeSpan.FromSeconds(2), refused.Headers.RetryAfter!.Delta);
        Assert.Equal("1500", refused.Headers.GetValues("retry-after-ms").Single());
        Assert.Equal("true", refused.Headers.GetValues("x-should-retry").Single());
        Assert.EndsWith("try again in 2 s.", (string)(await refused.BodyJson())["error"]!["message"]!);

        // Honest: once the announced wait has passed, the call goes through.
        _time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode);
    }

    [Theory]
    [InlineData("npm")]
    [InlineData("dotnet")]
    public async Task Default_openai_sdks_wait_the_short_retry_after_and_then_succeed(string sdk)
    {
        var (token, _) = await _vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { RequestsPerMinute = 1 }));
        using (var client = _vault.Client(token))
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode);
        _time.Advance(TimeSpan.FromSeconds(63));

        // From the call on, the vault's clock runs with real time (63 s ahead), so the SDK's real sleep is seen by it.
        using var stop = new CancellationTokenSource();
        Task? clock = null;
        Task StartClock()
        {
            clock = Task.Run(async () =>
            {
                var real = Stopwatch.StartNew();
                var moved = TimeSpan.Zero;
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(20);
                    _time.Advance(real.Elapsed - moved);
                    moved = real.Elapsed;
                }
            });
            return Task.CompletedTask;
        }
        try
        {
            if (sdk == "npm")
            {
                var got = await NpmSdkClient.CallAsync("openai", _vault.Url + "/v1/openai", token, "gpt-4o-mini", beforeCall: StartClock);
                Assert.True(got["ok"]!.GetValue<bool>(), got.ToJsonString());
                Assert.InRange(got["elapsedMs"]!.GetValue<int>(), 1_000, 5_000);
            }
            else
            {
                var chat = new ChatClient("gpt-4o-mini", new ApiKeyCredential(token), new OpenAIClientOptions { Endpoint = new Uri(_vault.Url + "/v1/openai") });
                await StartClock();
                var watch = Stopwatch.StartNew();
                Assert.Equal("Hello from fake", (await chat.CompleteChatAsync([new UserChatMessage("Hi")])).Value.Content[0].Text);
                Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
            }
        }
        finally
        {
            await stop.CancelAsync();
            if (clock is not null) await clock;
        }
    }
}
