using Okap.Core.Tokens;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class CheckModelStepTests
{
    [Fact]
    public async Task Refuses_a_model_the_grant_does_not_list()
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant(models: ["gpt-4o-mini"]));
        var call = await host.ThroughAsync<CheckModelStep>(host.Call("chat/completions", token, """{"model":"gpt-4o"}"""));
        Assert.False(await host.Get<CheckModelStep>().RunAsync(call));
        Assert.Equal((403, "model_not_allowed"), StepHost.ErrorOf(call));
    }

    [Fact]
    public async Task Refuses_more_output_than_tokens_per_request_and_caps_a_request_that_names_none()
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant(limits: new Limits { TokensPerRequest = 100 }));
        var over = await host.ThroughAsync<CheckModelStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini","max_tokens":500}"""));
        Assert.False(await host.Get<CheckModelStep>().RunAsync(over));
        Assert.Equal((400, "tokens_per_request_exceeded"), StepHost.ErrorOf(over));

        var unnamed = await host.ThroughAsync<CheckModelStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini"}"""));
        Assert.True(await host.Get<CheckModelStep>().RunAsync(unnamed));
        Assert.Equal(100, unnamed.CapOutput);
        Assert.Equal("max_completion_tokens", unnamed.MaxOutputField);
    }

    [Fact]
    public async Task Asks_an_openai_stream_for_usage_only_when_the_client_did_not()
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant());
        var bare = await host.ThroughAsync<CheckModelStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini","stream":true}"""));
        Assert.True(await host.Get<CheckModelStep>().RunAsync(bare));
        Assert.True(bare.DropUsageChunks);

        var asked = await host.ThroughAsync<CheckModelStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true}}"""));
        Assert.True(await host.Get<CheckModelStep>().RunAsync(asked));
        Assert.False(asked.DropUsageChunks);
    }
}
