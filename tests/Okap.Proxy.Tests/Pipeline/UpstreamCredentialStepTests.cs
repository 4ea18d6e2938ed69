using Okap.Core.Keys;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class UpstreamCredentialStepTests
{
    [Fact]
    public async Task Sends_a_managed_identity_token_only_for_a_managed_identity_upstream()
    {
        using var host = new StepHost();
        var call = host.Call("chat/completions");
        call.Target = new UpstreamTarget("https://example.openai.azure.com/openai/v1", null, null, ManagedIdentity: true);
        Assert.True(await host.Get<UpstreamCredentialStep>().RunAsync(call));
        Assert.Equal("Bearer entra-token-fake", call.BearerOverride);

        var keyed = host.Call("chat/completions");
        keyed.Target = new UpstreamTarget("http://127.0.0.1:9/openai/v1", "Authorization", "Bearer sk-master", ManagedIdentity: false);
        Assert.True(await host.Get<UpstreamCredentialStep>().RunAsync(keyed));
        Assert.Null(keyed.BearerOverride);
    }
}
