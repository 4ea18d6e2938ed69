using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Admin;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.AspNetCore.Endpoints.Admin.AdminReplies;
using static Okap.Core.Accounts.AccessKeyScopes;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>Apps' tokens: list, read, narrow, revoke, and each token's usage against its caps.</summary>
public sealed class TokenEndpoints(AdminCall call, TokenService tokens, BudgetService budgets, GrantBodies grantBodies, TimeProvider time)
{
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<TokenEndpoints>("GET", OkapPaths.Tokens, OkapRouteNames.ListTokens, (e, c) => e.ListAsync(c)).Returns<PageView<TokenView>>().Needs(Read),
        OkapRoutes.On<TokenEndpoints>("GET", OkapPaths.TokenById, OkapRouteNames.GetToken, (e, c) => e.GetAsync(c, OkapRoutes.Value(c, "id"))).Returns<TokenView>().Needs(Read),
        OkapRoutes.On<TokenEndpoints>("POST", OkapPaths.RevokeToken, OkapRouteNames.RevokeToken, (e, c) => e.RevokeAsync(c, OkapRoutes.Value(c, "id"))).Returns<TokenView>().Needs(Approve),
        OkapRoutes.On<TokenEndpoints>("PATCH", OkapPaths.TokenById, OkapRouteNames.NarrowToken, (e, c) => e.NarrowAsync(c, OkapRoutes.Value(c, "id"))).Accepts<DecisionBody>().Returns<TokenView>().Needs(Approve),
        OkapRoutes.On<TokenEndpoints>("GET", OkapPaths.TokenUsage, OkapRouteNames.TokenUsage, (e, c) => e.UsageAsync(c, OkapRoutes.Value(c, "id"))).Returns<TokenUsageView>().Needs(Read),
    ];

    public Task<IResult> ListAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
    {
        if (PageSize(context) is not { } size) return BadPageSize();
        var page = await tokens.ListAsync(owner, size, Empty(context.Request.Query["continuation"]), ct);
        var now = time.GetUtcNow();
        return TypedResults.Json(new PageView<TokenView>(page.Items.Select(t => AdminMapping.ToView(t, now)).ToArray(), page.ContinuationToken),
            AdminJsonContext.Default.PageViewTokenView);
    });

    public Task<IResult> GetAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
        await tokens.GetAsync(owner, id, ct) is { } t
            ? TypedResults.Json(AdminMapping.ToView(t, time.GetUtcNow()), AdminJsonContext.Default.TokenView)
            : Errors.NotFound("token"));

    /// <summary><c>PATCH /okap/admin/tokens/{id}</c> with <c>{"grants": [...]}</c>: narrows the token (see <see cref="TokenService.NarrowAsync"/>).</summary>
    public Task<IResult> NarrowAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await call.BodyAsync(context, AdminJsonContext.Default.DecisionBody, ct);
        if (error is not null) return error;
        if (body!.Grants is null) return Errors.Invalid("grants", "grants is required: the token's grants as they should be");
        var current = await tokens.GetAsync(owner, id, ct);
        if (current is null) return Errors.NotFound("token");
        // Models or capabilities left out keep what the token holds.
        var (parsed, invalid) = grantBodies.Parse(body.Grants, current.Grants);
        if (invalid is not null) return Errors.Invalid(invalid);
        return Map(await tokens.NarrowAsync(owner, id, parsed!, ClientAddress.Of(context), ct), t => AdminMapping.ToView(t, time.GetUtcNow()),
            AdminJsonContext.Default.TokenView, "token");
    });

    /// <summary>
    /// Revokes a token. A revocation the store cannot take (or confirm) is answered 503 and says so: the token keeps
    /// working until a revocation is written, and the owner must know that.
    /// </summary>
    public Task<IResult> RevokeAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
    {
        TokenRecord? revoked;
        try
        {
            revoked = await tokens.RevokeAsync(owner, id, ClientAddress.Of(context), ct);
        }
        catch (VaultUnavailableException)
        {
            return Errors.Status(StatusCodes.Status503ServiceUnavailable, OkapErrorTypes.VaultUnavailable,
                "The token was NOT revoked, or the vault cannot confirm it was: the vault cannot reach its storage right now, so the revocation could not be saved or confirmed. Treat the token as still working and try again shortly; revoking twice is harmless.");
        }
        return revoked is { } t
            ? TypedResults.Json(AdminMapping.ToView(t, time.GetUtcNow()), AdminJsonContext.Default.TokenView)
            : Errors.NotFound("token");
    });

    /// <summary>Usage and what is left of each cap: stored totals plus this instance's unflushed counters and live reservations.</summary>
    public Task<IResult> UsageAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
    {
        var budget = await budgets.GetTokenBudgetAsync(owner, id, ct);
        if (budget is null) return Errors.NotFound("token");
        var grants = budget.Grants.Select(g => new GrantUsageView(g.Provider, Spend(g.Day), Spend(g.Month),
            Rate(g.RequestsPerMinute), Rate(g.RequestsPerDay), g.TokensPerRequest)).ToArray();
        return TypedResults.Json(new TokenUsageView(budget.TokenId, grants), AdminJsonContext.Default.TokenUsageView);
    });

    private static SpendView Spend(PeriodBudget p) => new(p.Period[2..], p.Requests, p.InputTokens, p.OutputTokens, p.CostMicros / 1_000_000m,
        p.ReservedMicros / 1_000_000m, AdminMapping.Usd(p.LimitMicros), AdminMapping.Usd(p.RemainingMicros));

    private static RateView? Rate(RateBudget? r) => r is null ? null : new RateView(r.Limit, r.Used, r.Remaining);
}
