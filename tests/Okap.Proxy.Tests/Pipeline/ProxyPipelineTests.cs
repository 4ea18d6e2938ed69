using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class ProxyPipelineTests
{
    [Fact]
    public void Runs_the_steps_in_the_documented_order_as_singletons()
    {
        using var host = new StepHost();
        var steps = host.Get<ProxyPipeline>().Steps;
        Assert.Equal(
            [typeof(AdmitStep), typeof(AuthenticateStep), typeof(ClassifyRouteStep), typeof(InspectBodyStep), typeof(CheckModelStep), typeof(PriceStep),
             typeof(ResolveUpstreamStep), typeof(ReserveBudgetStep), typeof(UpstreamCredentialStep), typeof(MeterStep), typeof(ForwardStep), typeof(SettleStep)],
            steps.Select(s => s.GetType()));
        Assert.Same(host.Get<AuthenticateStep>(), steps[1]);
    }

    [Fact]
    public async Task Returns_the_body_buffer_and_releases_the_reservation_when_a_later_step_throws()
    {
        using var host = new StepHost();
        await host.SetKeyAsync();
        var token = await host.IssueAsync(StepHost.Grant(limits: new Okap.Core.Tokens.Limits { DailySpendMicros = 5_000_000 }));
        var call = host.Call("chat/completions", token, """{"model":"gpt-4o-mini"}""");
        // Nothing listens upstream and the test's forwarder is YARP's own: make the credential step throw instead.
        var throwing = new ProxyPipeline([.. host.Get<ProxyPipeline>().Steps.TakeWhile(s => s is not UpstreamCredentialStep), new Throws()], host.Get<SettleStep>());
        await Assert.ThrowsAsync<InvalidOperationException>(() => throwing.RunAsync(call));
        Assert.Null(call.Body);
        Assert.True(call.Settled);
        var day = host.Get<Okap.Core.Metering.BudgetLedger>().Snapshot(Okap.Core.Metering.UsageKeys.Grant(call.Token.Id, "openai"), Okap.Core.Metering.UsageKeys.Day(host.Time.GetUtcNow()));
        Assert.Equal(0, day?.ReservedMicros ?? 0);
    }

    private sealed class Throws : IProxyStep
    {
        public ValueTask<bool> RunAsync(ProxyCall call) => throw new InvalidOperationException("step failed");
    }
}
