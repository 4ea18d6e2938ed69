using Microsoft.Extensions.Time.Testing;
using Okap.Core.Policies;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Okap.Protocol;

namespace Okap.Core.Tests.Tokens;

public sealed class GrantRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static Grant Asked(string[]? models = null, string[]? caps = null, Limits? limits = null, DateTimeOffset? expires = null) =>
        new("openai", models ?? ["gpt-4", "gpt-4o"], caps ?? ["chat", "embeddings"], limits ?? new Limits { MonthlySpendMicros = 10_000_000, RequestsPerMinute = 60 }, expires ?? Now.AddDays(30));

    [Fact]
    public void Narrower_grant_is_within_the_request()
    {
        var asked = Asked();
        Assert.Null(GrantRules.WiderField(asked, asked with { Models = ["gpt-4"], Capabilities = ["chat"], Limits = new Limits { MonthlySpendMicros = 1, RequestsPerMinute = 1 }, ExpiresAt = Now.AddDays(1) }));
        Assert.Null(GrantRules.WiderField(asked, asked));
    }

    [Theory]
    [InlineData("models")]
    [InlineData("capabilities")]
    [InlineData("limits.monthly_spend")]
    [InlineData("limits.requests_per_minute")]
    [InlineData("expires")]
    public void Each_kind_of_widening_is_named(string field)
    {
        var asked = Asked();
        var wider = field switch
        {
            "models" => asked with { Models = [] },
            "capabilities" => asked with { Capabilities = ["chat", "images"] },
            "limits.monthly_spend" => asked with { Limits = asked.Limits with { MonthlySpendMicros = null } },
            "limits.requests_per_minute" => asked with { Limits = asked.Limits with { RequestsPerMinute = 61 } },
            _ => asked with { ExpiresAt = null },
        };
        Assert.Equal(field, GrantRules.WiderField(asked, wider));
    }

    [Fact]
    public void Request_for_all_models_may_be_narrowed_to_some()
    {
        var asked = Asked(models: []);
        Assert.Null(GrantRules.WiderField(asked, asked with { Models = ["gpt-4"] }));
    }

    [Fact]
    public void Clamp_lowers_limits_and_fills_open_ones()
    {
        var clamped = GrantRules.Clamp(new Limits { MonthlySpendMicros = 50, RequestsPerDay = null }, new Limits { MonthlySpendMicros = 5, RequestsPerDay = 100 });
        Assert.Equal(5, clamped.MonthlySpendMicros);
        Assert.Equal(100, clamped.RequestsPerDay);
        Assert.Null(clamped.DailySpendMicros);
    }

    [Fact]
    public void Expiry_defaults_and_is_capped()
    {
        var options = new VaultOptions { DefaultTokenLifetime = TimeSpan.FromDays(90), MaxTokenLifetime = TimeSpan.FromDays(366) };
        Assert.Equal(Now.AddDays(90), GrantRules.WithBoundedExpiry(Asked() with { ExpiresAt = null }, Now, options).ExpiresAt);
        Assert.Equal(Now.AddDays(366), GrantRules.WithBoundedExpiry(Asked(expires: Now.AddYears(5)), Now, options).ExpiresAt);
    }

    [Fact]
    public void Policy_covers_only_matching_apps_providers_and_models()
    {
        var policy = new AutoApprovePolicy
        {
            Id = "pol_1", OwnerId = "o", Name = "p", AppName = "notes", Providers = ["openai"], Models = ["gpt-4", "gpt-4o"],
            MaxLimits = new Limits { MonthlySpendMicros = 5_000_000 }, MaxDays = 7, CreatedAt = Now,
        };
        AccessRequest Request(string app, Grant grant) => new()
        {
            Id = "req", OwnerId = "o", Shape = RequestShape.Sdk, AppName = app, Requested = [grant], Status = RequestStatus.Pending, CreatedAt = Now, ExpiresAt = Now.AddMinutes(5),
        };

        var granted = PolicyMatcher.Match(policy, Request("Notes", Asked()), Now);
        Assert.NotNull(granted);
        Assert.Equal(5_000_000, granted![0].Limits.MonthlySpendMicros);
        Assert.Equal(Now.AddDays(7), granted[0].ExpiresAt);
        Assert.Null(PolicyMatcher.Match(policy, Request("other", Asked()), Now));
        Assert.Null(PolicyMatcher.Match(policy, Request("notes", Asked(models: [])), Now));
        Assert.Null(PolicyMatcher.Match(policy, Request("notes", Asked(models: ["o3"])), Now));
        Assert.Null(PolicyMatcher.Match(policy, Request("notes", Asked() with { Provider = "anthropic" }), Now));
        Assert.Null(PolicyMatcher.Match(policy with { Enabled = false }, Request("notes", Asked()), Now));
    }
}

public sealed class AccessRequestParserTests
{
    private readonly AccessRequestParser _parser = new(new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero)));

    [Fact]
    public void Sdk_shape_converts_dollars_to_micro_dollars_and_dates_to_utc_midnight()
    {
        var (draft, error) = _parser.Parse(new OkapAccessRequest
        {
            Provider = "openai", Models = ["gpt-4", "gpt-4"], Limits = new OkapLimits { MonthlySpend = 10.0m, DailySpend = 0.0000019m }, Expires = "2027-03-01", AppName = " My App ",
        });
        Assert.Null(error);
        var grant = draft!.Requested.Single();
        Assert.Equal(10_000_000, grant.Limits.MonthlySpendMicros);
        Assert.Equal(1, grant.Limits.DailySpendMicros);
        Assert.Equal(new DateTimeOffset(2027, 3, 1, 0, 0, 0, TimeSpan.Zero), grant.ExpiresAt);
        Assert.Equal(["gpt-4"], grant.Models);
        Assert.Equal(["chat"], grant.Capabilities);
        Assert.Equal("My App", draft.AppName);
    }

    [Fact]
    public void Spec_shape_accepts_several_providers_and_iso_times()
    {
        var (draft, error) = _parser.Parse(new OkapAuthorizeRequest
        {
            AuthorizationDetails =
            [
                new AuthorizationDetail { Type = "ai_model_access", Provider = "groq", Expires = "2027-01-01T12:30:00+02:00" },
                new AuthorizationDetail { Type = "ai_model_access", Provider = "mistral", Capabilities = ["code", "vision"] },
            ],
            Client = new OkapClientInfo { Name = "App" },
        });
        Assert.Null(error);
        Assert.Equal(["groq", "mistral"], draft!.Requested.Select(g => g.Provider));
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 10, 30, 0, TimeSpan.Zero), draft.Requested[0].ExpiresAt);
        Assert.Empty(draft.Requested[0].Capabilities);
    }

    [Fact]
    public void Fingerprint_tells_different_requests_apart()
    {
        var a = new Grant("openai", ["gpt-4"], ["chat"], Limits.None, null);
        Assert.Equal(AccessRequestService.Fingerprint([a]), AccessRequestService.Fingerprint([a with { Models = ["gpt-4"] }]));
        Assert.NotEqual(AccessRequestService.Fingerprint([a]), AccessRequestService.Fingerprint([a with { Limits = new Limits { RequestsPerDay = 1 } }]));
    }

    [Fact]
    public void Secrets_have_256_bits_and_hash_to_lower_hex()
    {
        var token = Secrets.NewToken();
        Assert.StartsWith("okap_", token);
        Assert.Equal(43, token.Length - 5);
        Assert.NotEqual(token, Secrets.NewToken());
        Assert.Matches("^[0-9a-f]{64}$", Secrets.Hash(token));
        Assert.Equal("XYZW", Secrets.Last4("sk-abcXYZW"));
    }
}
