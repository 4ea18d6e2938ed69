using Okap.Core.Pricing;
using Okap.Core.Tokens;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class PriceStepTests
{
    private static readonly Limits SpendCap = new() { DailySpendMicros = 5_000_000 };

    [Fact]
    public async Task Prices_from_the_catalog_and_lets_the_owners_price_win()
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant(limits: SpendCap));
        var own = new ModelPrice(1, null, 2);
        await host.Prices.UpsertAsync(new PriceOverride(StepHost.Owner, "openai", "my-finetune", own, host.Time.GetUtcNow()), default);
        var catalog = await host.ThroughAsync<PriceStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini"}"""));
        Assert.True(await host.Get<PriceStep>().RunAsync(catalog));
        Assert.Equal(PriceCatalog.Default.Find("openai", "gpt-4o-mini", []), catalog.Price);

        var call = await host.ThroughAsync<PriceStep>(host.Call("chat/completions", token, """{"model":"my-finetune"}"""));
        Assert.True(await host.Get<PriceStep>().RunAsync(call));
        Assert.Equal(own, call.Price);
    }

    [Fact]
    public async Task Refuses_an_unpriced_model_under_a_spend_cap_only()
    {
        using var host = new StepHost();
        var capped = await host.ThroughAsync<PriceStep>(host.Call("chat/completions", await host.IssueAsync(StepHost.Grant(limits: SpendCap)), """{"model":"nobody-prices-this"}"""));
        Assert.False(await host.Get<PriceStep>().RunAsync(capped));
        Assert.Equal((403, "model_not_priced"), StepHost.ErrorOf(capped));

        var uncapped = await host.ThroughAsync<PriceStep>(host.Call("chat/completions", await host.IssueAsync(StepHost.Grant()), """{"model":"nobody-prices-this"}"""));
        Assert.True(await host.Get<PriceStep>().RunAsync(uncapped));
        Assert.Null(uncapped.Price);
    }

    [Fact]
    public async Task Fails_closed_when_the_owners_prices_cannot_be_read_under_a_spend_cap()
    {
        using var host = new StepHost();
        var token = await host.IssueAsync(StepHost.Grant(limits: SpendCap));
        var call = await host.ThroughAsync<PriceStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini"}"""));
        host.Health.Down = true;
        await Assert.ThrowsAsync<Okap.Core.VaultUnavailableException>(async () => await host.Get<PriceStep>().RunAsync(call));
    }
}
