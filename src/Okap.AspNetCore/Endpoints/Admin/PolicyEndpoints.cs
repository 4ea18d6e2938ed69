using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Admin;
using Okap.AspNetCore.Http;
using Okap.Core.Policies;
using Okap.Core.Requests;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.AspNetCore.Endpoints.Admin.AdminReplies;
using static Okap.Core.Accounts.AccessKeyScopes;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>Auto-approval policies: list, create, replace, remove.</summary>
public sealed class PolicyEndpoints(AdminCall call, PolicyService policies, TimeProvider time)
{
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<PolicyEndpoints>("GET", OkapPaths.Policies, OkapRouteNames.ListPolicies, (e, c) => e.ListAsync(c)).Returns<IReadOnlyList<PolicyView>>().Needs(Read),
        OkapRoutes.On<PolicyEndpoints>("POST", OkapPaths.Policies, OkapRouteNames.CreatePolicy, (e, c) => e.SaveAsync(c, null)).Accepts<PolicyBody>().Returns<PolicyView>().Needs(Keys),
        OkapRoutes.On<PolicyEndpoints>("PUT", OkapPaths.PolicyById, OkapRouteNames.UpdatePolicy, (e, c) => e.SaveAsync(c, OkapRoutes.Value(c, "id"))).Accepts<PolicyBody>().Returns<PolicyView>().Needs(Keys),
        OkapRoutes.On<PolicyEndpoints>("DELETE", OkapPaths.PolicyById, OkapRouteNames.RemovePolicy, (e, c) => e.RemoveAsync(c, OkapRoutes.Value(c, "id"))).Needs(Keys),
    ];

    public Task<IResult> ListAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
        TypedResults.Json<IReadOnlyList<PolicyView>>((await policies.ListAsync(owner, ct)).Select(AdminMapping.ToView).ToArray(), AdminJsonContext.Default.IReadOnlyListPolicyView));

    /// <summary>Creates (<paramref name="id"/> null, 201) or replaces a policy.</summary>
    public Task<IResult> SaveAsync(HttpContext context, string? id) => call.AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await call.BodyAsync(context, AdminJsonContext.Default.PolicyBody, ct);
        if (error is not null) return error;
        var (limits, limitError) = AccessRequestParser.ParseLimitsForOwner(body!.MaxLimits, "max_limits");
        if (limitError is not null) return Errors.Invalid(limitError);
        var draft = new AutoApprovePolicy
        {
            Id = id ?? "",
            OwnerId = owner,
            Name = body.Name ?? "",
            AppName = body.AppName,
            Providers = body.Providers ?? [],
            Models = body.Models ?? [],
            Capabilities = body.Capabilities ?? [],
            MaxLimits = limits!,
            MaxDays = body.MaxDays,
            Enabled = body.Enabled ?? true,
            CreatedAt = time.GetUtcNow(),
        };
        var result = await policies.SaveAsync(owner, id, draft, ct);
        return Map(result, AdminMapping.ToView, AdminJsonContext.Default.PolicyView, "policy", id is null ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    });

    public Task<IResult> RemoveAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
        await policies.RemoveAsync(owner, id, ct) ? TypedResults.NoContent() : Errors.NotFound("policy"));
}
