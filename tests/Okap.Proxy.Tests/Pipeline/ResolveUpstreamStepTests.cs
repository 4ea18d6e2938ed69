using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class ResolveUpstreamStepTests
{
    [Fact]
    public async Task Resolves_the_configured_base_url_and_the_owners_master_key()
    {
        using var host = new StepHost();
        await host.SetKeyAsync(secret: "sk-master-resolve");
        var call = await host.ThroughAsync<ResolveUpstreamStep>(host.Call("chat/completions", await host.IssueAsync(StepHost.Grant()), """{"model":"gpt-4o-mini"}"""));
        Assert.True(await host.Get<ResolveUpstreamStep>().RunAsync(call));
        Assert.Equal("http://127.0.0.1:9/openai/v1", call.Target.BaseUrl);
        Assert.Equal(("Authorization", "Bearer sk-master-resolve"), (call.Target.AuthHeader, call.Target.AuthValue));
    }

    [Fact]
    public async Task Refuses_when_the_owner_has_no_key_for_the_provider()
    {
        using var host = new StepHost();
        var call = await host.ThroughAsync<ResolveUpstreamStep>(host.Call("chat/completions", await host.IssueAsync(StepHost.Grant()), """{"model":"gpt-4o-mini"}"""));
        Assert.False(await host.Get<ResolveUpstreamStep>().RunAsync(call));
        Assert.Equal("no_master_key", StepHost.ErrorOf(call).Type);
    }
}
