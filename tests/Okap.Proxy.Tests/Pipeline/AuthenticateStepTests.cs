using Okap.Core.Audit;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class AuthenticateStepTests
{
    [Fact]
    public async Task Takes_the_grant_of_a_known_token_for_the_provider()
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant(models: ["gpt-4o-mini"]));
        var call = host.Call("chat/completions", token);
        Assert.True(await host.Get<AuthenticateStep>().RunAsync(call));
        Assert.Equal(StepHost.Owner, call.Token.OwnerId);
        Assert.Equal(["gpt-4o-mini"], call.Grant.Models);
    }

    [Fact]
    public async Task Refuses_missing_unknown_revoked_and_expired_tokens_with_401()
    {
        using var host = new StepHost();
        var step = host.Get<AuthenticateStep>();
        var expired = await host.IssueAsync(StepHost.Grant(expires: host.Time.GetUtcNow().AddMinutes(1)));
        var revoked = await host.IssueAsync(StepHost.Grant());
        var record = await host.Tokens.FindByHashAsync(Okap.Core.Secrets.Hash(revoked), default);
        await host.Tokens.RevokeAsync(StepHost.Owner, record!.Id, host.Time.GetUtcNow(), default);
        host.Time.Advance(TimeSpan.FromMinutes(2));

        foreach (var (token, type) in new[] { ((string?)null, "invalid_token"), ("okap_unknown", "invalid_token"), ("sk-not-okap", "invalid_token"), (revoked, "token_revoked"), (expired, "token_expired") })
        {
            var call = host.Call("chat/completions", token);
            Assert.False(await step.RunAsync(call));
            Assert.Equal((401, type), StepHost.ErrorOf(call));
        }
    }

    [Fact]
    public async Task Refuses_a_provider_the_token_lacks_with_403_and_audits_it()
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant(provider: "anthropic"));
        var call = host.Call("chat/completions", token);
        Assert.False(await host.Get<AuthenticateStep>().RunAsync(call));
        Assert.Equal((403, "provider_not_allowed"), StepHost.ErrorOf(call));
        var audited = host.Get<ProxyAuditQueue>().Drain();
        Assert.Contains(audited, e => e.Event == AuditEvents.TokenRefused && e.Detail!.Contains("provider_not_allowed"));
    }

    [Theory]
    [InlineData("Authorization", "Bearer okap_abc", "okap_abc")]
    [InlineData("x-api-key", "okap_abc", "okap_abc")]
    [InlineData("x-goog-api-key", "okap_abc", "okap_abc")]
    [InlineData("api-key", "okap_abc", "okap_abc")]
    [InlineData("Authorization", "Basic xyz", null)]
    public void Reads_the_token_where_each_sdk_sends_its_key(string header, string value, string? expected)
    {
        var ctx = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        ctx.Request.Headers[header] = value;
        Assert.Equal(expected, AuthenticateStep.ExtractToken(ctx.Request));
    }
}
