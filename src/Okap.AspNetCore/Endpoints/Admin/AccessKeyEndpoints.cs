using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Admin;
using Okap.AspNetCore.Auth;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.AspNetCore.Endpoints.Admin.AdminReplies;
using static Okap.Core.Accounts.AccessKeyScopes;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>
/// Personal access keys: listed with a key's <c>read</c> scope, but created and revoked only from a browser session,
/// so a leaked key cannot mint a successor that outlives its revocation.
/// </summary>
public sealed class AccessKeyEndpoints(AdminCall call, AccessKeyService accessKeys)
{
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<AccessKeyEndpoints>("GET", OkapPaths.AccessKeys, OkapRouteNames.ListAccessKeys, (e, c) => e.ListAsync(c)).Returns<IReadOnlyList<AccessKeyView>>().Needs(Read),
        OkapRoutes.On<AccessKeyEndpoints>("POST", OkapPaths.AccessKeys, OkapRouteNames.CreateAccessKey, (e, c) => e.CreateAsync(c)).Accepts<CreateAccessKeyBody>().Returns<CreatedAccessKeyView>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<AccessKeyEndpoints>("DELETE", OkapPaths.AccessKeyById, OkapRouteNames.RevokeAccessKey, (e, c) => e.RevokeAsync(c, OkapRoutes.Value(c, "id"))).Needs(OwnerAuth.SessionOnly),
    ];

    public Task<IResult> ListAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
        TypedResults.Json<IReadOnlyList<AccessKeyView>>((await accessKeys.ListAsync(owner, ct)).Select(AdminMapping.ToView).ToArray(), AdminJsonContext.Default.IReadOnlyListAccessKeyView));

    /// <summary>Creates a key; its secret is in this reply only.</summary>
    public Task<IResult> CreateAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await call.BodyAsync(context, AdminJsonContext.Default.CreateAccessKeyBody, ct);
        if (error is not null) return error;
        var result = await accessKeys.CreateAsync(owner, body!.Name, body.Scopes, body.ExpiresInDays, ct);
        if (result.Outcome != Outcome.Ok) return Errors.Invalid(result.Error!);
        return TypedResults.Json(new CreatedAccessKeyView(AdminMapping.ToView(result.Value.Key), result.Value.Secret), AdminJsonContext.Default.CreatedAccessKeyView,
            statusCode: StatusCodes.Status201Created);
    });

    public Task<IResult> RevokeAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
        await accessKeys.RevokeAsync(owner, id, ct) ? TypedResults.NoContent() : Errors.NotFound("access key"));
}
