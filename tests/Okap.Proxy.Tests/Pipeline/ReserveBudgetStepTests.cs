using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class ReserveBudgetStepTests
{
    [Fact]
    public async Task Reserves_the_worst_case_cost_and_refuses_past_the_rate_limit()
    {
        using var host = new StepHost();
        await host.SetKeyAsync();
        var token = await host.IssueAsync(StepHost.Grant(limits: new Limits { RequestsPerMinute = 1, DailySpendMicros = 5_000_000 }));
        var first = await host.ThroughAsync<ReserveBudgetStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini","max_tokens":10}"""));
        Assert.True(await host.Get<ReserveBudgetStep>().RunAsync(first));
        Assert.NotNull(first.Reservation);
        var day = host.Get<BudgetLedger>().Snapshot(UsageKeys.Grant(first.Token.Id, "openai"), UsageKeys.Day(host.Time.GetUtcNow()));
        Assert.True(day?.ReservedMicros > 0);

        var second = await host.ThroughAsync<ReserveBudgetStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini","max_tokens":10}"""));
        Assert.False(await host.Get<ReserveBudgetStep>().RunAsync(second));
        Assert.Equal((429, "rate_limit_exceeded"), StepHost.ErrorOf(second));
        Assert.Null(second.Reservation);
    }

    [Fact]
    public async Task Fails_closed_when_the_usage_store_cannot_be_read()
    {
        using var host = new StepHost();
        await host.SetKeyAsync();
        var call = await host.ThroughAsync<ReserveBudgetStep>(host.Call("chat/completions", await host.IssueAsync(StepHost.Grant(limits: new Limits { RequestsPerDay = 10 })), """{"model":"gpt-4o-mini"}"""));
        host.Health.Down = true;
        await Assert.ThrowsAsync<Okap.Core.VaultUnavailableException>(async () => await host.Get<ReserveBudgetStep>().RunAsync(call));
        Assert.Null(call.Reservation);
    }
}
