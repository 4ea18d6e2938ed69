using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Okap.AspNetCore.Admin;
using Okap.AspNetCore.Http;
using Okap.Core.Keys;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.AspNetCore.Endpoints.Admin.AdminReplies;
using static Okap.Core.Accounts.AccessKeyScopes;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>Provider master keys and owner-defined upstreams: list (never a secret), set (tried with the provider first), remove.</summary>
public sealed class KeyEndpoints(AdminCall call, MasterKeyService keys, IOptions<OkapAdminOptions> adminOptions)
{
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<KeyEndpoints>("GET", OkapPaths.Keys, OkapRouteNames.ListKeys, (e, c) => e.ListAsync(c)).Returns<IReadOnlyList<KeyView>>().Needs(Read),
        OkapRoutes.On<KeyEndpoints>("PUT", OkapPaths.KeyByProvider, OkapRouteNames.SetKey, (e, c) => e.SetAsync(c, OkapRoutes.Value(c, "provider"))).Accepts<SetKeyBody>().Returns<KeyView>().Needs(Keys),
        OkapRoutes.On<KeyEndpoints>("DELETE", OkapPaths.KeyByProvider, OkapRouteNames.RemoveKey, (e, c) => e.RemoveAsync(c, OkapRoutes.Value(c, "provider"))).Needs(Keys),
    ];

    public Task<IResult> ListAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
        TypedResults.Json<IReadOnlyList<KeyView>>((await keys.ListAsync(owner, ct)).Select(AdminMapping.ToView).ToArray(), AdminJsonContext.Default.IReadOnlyListKeyView));

    public Task<IResult> SetAsync(HttpContext context, string provider) => call.AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await call.BodyAsync(context, AdminJsonContext.Default.SetKeyBody, ct);
        if (error is not null) return error;
        var result = await keys.SetAsync(owner, provider, body!.Key, body.Label, body.BaseUrl, body.AuthKind,
            adminOptions.Value.AllowInsecureUpstreams, ClientAddress.Of(context), ct, check: body.Check ?? true);
        return Map(result, AdminMapping.ToView, AdminJsonContext.Default.KeyView, "key");
    });

    public Task<IResult> RemoveAsync(HttpContext context, string provider) => call.AsOwner(context, async (owner, ct) =>
        await keys.RemoveAsync(owner, provider, ClientAddress.Of(context), ct) ? TypedResults.NoContent() : Errors.NotFound("key"));
}

/// <summary>Admin-side settings, taken from the proxy's <c>Okap:Proxy:AllowInsecureOwnerUpstreams</c>.</summary>
public sealed class OkapAdminOptions
{
    /// <summary>Allow owners to point providers at plain-http upstreams (e.g. a local Ollama). Off by default.</summary>
    public bool AllowInsecureUpstreams { get; set; }
}
