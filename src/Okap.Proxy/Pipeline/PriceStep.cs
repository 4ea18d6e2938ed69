using Okap.Core;
using Okap.Core.Pricing;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// Prices a metered call (the owner's own prices win over the catalog). Under a spend cap a price is required, and
/// the owner's prices must be readable; without one an unreadable override list is taken as none.
/// </summary>
internal sealed class PriceStep(UpstreamResolver upstreams, PriceCatalog catalog, RefusalWriter refusals) : IProxyStep
{
    private static readonly IReadOnlyList<PriceOverride> NoOverrides = [];

    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        if (!call.Route.IsMetered) return Step.Next;
        ValueTask<IReadOnlyList<PriceOverride>> overrides;
        try
        {
            overrides = upstreams.PriceOverridesAsync(call.Token.OwnerId);
        }
        catch (VaultUnavailableException) when (!call.Grant.Limits.HasSpendCap)
        {
            return Price(call, NoOverrides);
        }
        return overrides.IsCompletedSuccessfully ? Price(call, overrides.Result) : AwaitAndPriceAsync(call, overrides);
    }

    private async ValueTask<bool> AwaitAndPriceAsync(ProxyCall call, ValueTask<IReadOnlyList<PriceOverride>> pending)
    {
        IReadOnlyList<PriceOverride> overrides;
        try
        {
            overrides = await pending.ConfigureAwait(false);
        }
        catch (VaultUnavailableException) when (!call.Grant.Limits.HasSpendCap)
        {
            overrides = NoOverrides;
        }
        return await Price(call, overrides).ConfigureAwait(false);
    }

    private ValueTask<bool> Price(ProxyCall call, IReadOnlyList<PriceOverride> overrides)
    {
        var model = call.Model;
        var price = catalog.Find(call.Provider, model, overrides);
        call.Price = price;
        if (price is null && call.Grant.Limits.HasSpendCap)
        {
            return Step.Stop(refusals.RefuseAsync(call, 403, OkapErrorTypes.UnpricedModel,
                model is null
                    ? "This OKAP token has a spend limit and the request names no model, so its cost cannot be known."
                    : $"This OKAP token has a spend limit and the vault has no price for model '{model}', so the call is refused. The vault owner can add a price for it."));
        }
        return Step.Next;
    }
}
