using Okap.Core.Providers;
using Okap.Core.Tokens;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class ClassifyRouteStepTests
{
    [Fact]
    public async Task Classifies_a_granted_route()
    {
        using var host = new StepHost();
        var call = await host.ThroughAsync<ClassifyRouteStep>(host.Call("embeddings", await host.IssueAsync(StepHost.Grant(caps: ["embeddings"]))));
        Assert.True(await host.Get<ClassifyRouteStep>().RunAsync(call));
        Assert.Equal(RouteKind.Embeddings, call.Route.Kind);
        Assert.Same(ProviderCatalog.OpenAI, call.Descriptor);
    }

    [Fact]
    public async Task Refuses_a_capability_the_grant_lacks()
    {
        using var host = new StepHost();
        var call = await host.ThroughAsync<ClassifyRouteStep>(host.Call("embeddings", await host.IssueAsync(StepHost.Grant(caps: ["chat"]))));
        Assert.False(await host.Get<ClassifyRouteStep>().RunAsync(call));
        Assert.Equal((403, "capability_not_allowed"), StepHost.ErrorOf(call));
    }

    [Fact]
    public async Task Refuses_unmetered_routes_to_a_token_with_limits_but_not_to_one_without()
    {
        using var host = new StepHost();
        var limited = await host.ThroughAsync<ClassifyRouteStep>(host.Call("batches", await host.IssueAsync(StepHost.Grant(limits: new Limits { RequestsPerDay = 5 }))));
        Assert.False(await host.Get<ClassifyRouteStep>().RunAsync(limited));
        Assert.Equal((403, "capability_not_allowed"), StepHost.ErrorOf(limited));

        var open = await host.ThroughAsync<ClassifyRouteStep>(host.Call("batches", await host.IssueAsync(StepHost.Grant())));
        Assert.True(await host.Get<ClassifyRouteStep>().RunAsync(open));
        Assert.Equal(RouteKind.Other, open.Route.Kind);
    }
}
