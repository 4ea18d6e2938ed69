using Okap.Core.Tokens;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class InspectBodyStepTests
{
    [Fact]
    public async Task Reads_the_body_and_what_it_asks_for()
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant());
        var call = await host.ThroughAsync<InspectBodyStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini","max_tokens":64,"stream":true}"""));
        Assert.True(await host.Get<InspectBodyStep>().RunAsync(call));
        Assert.NotNull(call.Body);
        Assert.Equal("gpt-4o-mini", call.Facts.Model);
        Assert.Equal(64, call.Facts.MaxOutputTokens);
        Assert.True(call.Facts.Stream);
    }

    [Theory]
    [InlineData("[1,2]", "application/json", 400, "invalid_request")]
    [InlineData("""{"max_tokens":"many"}""", "application/json", 400, "invalid_request")]
    [InlineData("model=gpt-4o", "application/x-www-form-urlencoded", 400, "invalid_request")]
    public async Task Refuses_a_body_it_cannot_check(string body, string contentType, int status, string type)
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant(models: ["gpt-4o-mini"]));
        var call = await host.ThroughAsync<InspectBodyStep>(host.Call("chat/completions", token, body, contentType: contentType));
        Assert.False(await host.Get<InspectBodyStep>().RunAsync(call));
        Assert.Equal((status, type), StepHost.ErrorOf(call));
    }

    [Fact]
    public async Task Refuses_a_body_longer_than_it_reads_with_413()
    {
        using var host = new StepHost(new Dictionary<string, string?> { ["Okap:Proxy:MaxBufferedBodyBytes"] = "1024" });
        var token = await host.IssueAsync(StepHost.Grant(limits: new Limits { DailySpendMicros = 1_000_000 }));
        var call = await host.ThroughAsync<InspectBodyStep>(host.Call("chat/completions", token, "{\"model\":\"" + new string('x', 2000) + "\"}"));
        Assert.False(await host.Get<InspectBodyStep>().RunAsync(call));
        Assert.Equal((413, "payload_too_large"), StepHost.ErrorOf(call));
    }
}
