using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Admin;
using Okap.AspNetCore.Http;
using Okap.Core.Pricing;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.AspNetCore.Endpoints.Admin.AdminReplies;
using static Okap.Core.Accounts.AccessKeyScopes;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>The owner's own model prices (USD per million tokens, winning over the catalog) and the built-in catalog.</summary>
public sealed class PriceEndpoints(AdminCall call, PriceOverrideService prices, PriceCatalog catalog)
{
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<PriceEndpoints>("GET", OkapPaths.Prices, OkapRouteNames.ListPrices, (e, c) => e.ListAsync(c)).Returns<IReadOnlyList<PriceView>>().Needs(Read),
        OkapRoutes.On<PriceEndpoints>("PUT", OkapPaths.PriceByModel, OkapRouteNames.SetPrice, (e, c) => e.SetAsync(c, OkapRoutes.Value(c, "provider"), OkapRoutes.Value(c, "model"))).Accepts<PriceBody>().Returns<PriceView>().Needs(Keys),
        OkapRoutes.On<PriceEndpoints>("DELETE", OkapPaths.PriceByModel, OkapRouteNames.RemovePrice, (e, c) => e.RemoveAsync(c, OkapRoutes.Value(c, "provider"), OkapRoutes.Value(c, "model"))).Needs(Keys),
        OkapRoutes.On<PriceEndpoints>("GET", OkapPaths.Catalog, OkapRouteNames.PriceCatalog, (e, c) => e.CatalogAsync(c)).Returns<CatalogView>().Needs(Read),
    ];

    public Task<IResult> ListAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
        TypedResults.Json<IReadOnlyList<PriceView>>((await prices.ListAsync(owner, ct)).Select(AdminMapping.ToView).ToArray(), AdminJsonContext.Default.IReadOnlyListPriceView));

    public Task<IResult> SetAsync(HttpContext context, string provider, string model) => call.AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await call.BodyAsync(context, AdminJsonContext.Default.PriceBody, ct);
        if (error is not null) return error;
        var result = await prices.SetAsync(owner, provider, ModelName(model), body!.InputPerMillion, body.CachedInputPerMillion, body.OutputPerMillion,
            body.MaxOutputTokens, ClientAddress.Of(context), ct);
        return Map(result, AdminMapping.ToView, AdminJsonContext.Default.PriceView, "price");
    });

    public Task<IResult> RemoveAsync(HttpContext context, string provider, string model) => call.AsOwner(context, async (owner, ct) =>
        await prices.RemoveAsync(owner, provider, ModelName(model), ClientAddress.Of(context), ct) ? TypedResults.NoContent() : Errors.NotFound("price"));

    /// <summary>The built-in price catalog (read-only): its version and every entry.</summary>
    public Task<IResult> CatalogAsync(HttpContext context) => call.AsOwner(context, (_, _) =>
        Task.FromResult<IResult>(TypedResults.Json(new CatalogView(catalog.Version, "USD", catalog.Entries.Select(AdminMapping.ToView).ToArray()),
            AdminJsonContext.Default.CatalogView)));

    // Model names may hold slashes (meta-llama/Llama-3.3-70B…): sent as-is they arrive whole through the catch-all
    // route; sent encoded, the server keeps %2F undecoded in the path, so it is decoded here.
    private static string ModelName(string model) => model.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
}
