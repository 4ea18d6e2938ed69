using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class AdmitStepTests
{
    [Theory]
    [InlineData("openai", "chat/completions", true)]
    [InlineData("Open AI", "chat/completions", false)]
    [InlineData("openai", "../admin", false)]
    [InlineData("openai", "a//b", false)]
    public async Task Admits_only_a_well_formed_provider_and_path(string provider, string path, bool admitted)
    {
        using var host = new StepHost();
        var call = host.Call(path, provider: provider);
        Assert.Equal(admitted, await host.Get<AdmitStep>().RunAsync(call));
        Assert.Equal(admitted ? (200, null) : (404, "not_found"), StepHost.ErrorOf(call));
    }
}
