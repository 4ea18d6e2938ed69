using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Endpoints;
using Okap.AspNetCore.Endpoints.Admin;
using Okap.Protocol;
using Okap.Protocol.Admin;

namespace Okap.AspNetCore;

/// <summary>
/// Every route the vault serves outside the proxy, as one table: <see cref="OkapEndpointRouteBuilderExtensions.MapOkap"/>
/// maps it on any ASP.NET Core host, and the Azure Functions host declares one function per entry.
/// </summary>
public static class OkapRoutes
{
    /// <summary>
    /// One route: HTTP method, pattern (<paramref name="Path"/>, one of <see cref="OkapPaths"/>), name (one of
    /// <see cref="OkapRouteNames"/>) and the handler that serves it, with what the OpenAPI document says of it.
    /// </summary>
    public sealed record Route(string Method, string Path, string Name, Func<HttpContext, IServiceProvider, Task<IResult>> Handler)
    {
        /// <summary>The ASP.NET Core pattern the server maps (rooted, catch-all <c>{**x}</c>).</summary>
        public string Pattern => OkapPaths.Rooted(Path);

        /// <summary>The JSON body's record (an Okap.Protocol type), or null for a route that takes none.</summary>
        public Type? Body { get; init; }

        /// <summary>True where the handler also accepts no body at all (approve as asked, deny without a reason).</summary>
        public bool BodyOptional { get; init; }

        /// <summary>The 200/201 reply's record, or null for a route that answers 204 or a file.</summary>
        public Type? Reply { get; init; }

        /// <summary>
        /// The hook for per-route policy: whatever is added here is endpoint metadata on the server and is reachable from
        /// the handler on both hosts through <see cref="Current"/> (e.g. the access-key scope a route requires).
        /// </summary>
        public IReadOnlyList<object> Metadata { get; init; } = [];

        /// <summary>The class whose method serves the route, when it was made with <see cref="On{TEndpoints}"/>: registered for it by <c>AddOkap</c>.</summary>
        public Type? Endpoints { get; init; }

        /// <summary>The OpenAPI tag: okap, account, admin or page.</summary>
        public string Tag => Path.StartsWith("okap/admin", StringComparison.Ordinal) ? "admin"
            : Path.StartsWith("okap/account", StringComparison.Ordinal) ? "account"
            : Path.StartsWith("okap", StringComparison.Ordinal) ? "okap" : "page";

        /// <summary>This route with <typeparamref name="TBody"/> as its JSON body.</summary>
        public Route Accepts<TBody>(bool optional = false) => this with { Body = typeof(TBody), BodyOptional = optional };

        /// <summary>This route with <typeparamref name="TReply"/> as its JSON reply.</summary>
        public Route Returns<TReply>() => this with { Reply = typeof(TReply) };

        /// <summary>This route with <paramref name="items"/> added to its <see cref="Metadata"/>.</summary>
        public Route WithMetadata(params object[] items) => this with { Metadata = [.. Metadata, .. items] };

        /// <summary>
        /// This route needing <paramref name="scope"/> of a personal access key (<see cref="Core.Accounts.AccessKeyScopes"/>), or
        /// <see cref="Auth.OwnerAuth.SessionOnly"/> for what only a browser session may do; <see cref="Auth.OwnerAccess"/> enforces it.
        /// </summary>
        public Route Needs(string scope) => WithMetadata(new Auth.RequiredScope(scope));
    }


    /// <summary>
    /// A route served by a method of <typeparamref name="TEndpoints"/>, a feature's endpoint class (one file holding its
    /// handlers and its routes, e.g. <see cref="PriceEndpoints"/>); <c>AddOkap</c> registers the class as a singleton.
    /// </summary>
    public static Route On<TEndpoints>(string method, string path, string name, Func<TEndpoints, HttpContext, Task<IResult>> handler) where TEndpoints : class =>
        new(method, path, name, (c, s) => handler(Get<TEndpoints>(s), c)) { Endpoints = typeof(TEndpoints) };

    /// <summary>The route now being served (on the server and under the Functions host alike), or null outside one.</summary>
    public static Route? Current(HttpContext context) => context.Features.Get<Route>();

    /// <summary>
    /// Every route. All but the liveness and readiness checks refuse (404) on the proxy's own origin when it has one
    /// (<see cref="Core.VaultOrigins"/>): nothing of an owner's session may be reachable where upstream answers are served.
    /// </summary>
    public static IReadOnlyList<Route> All { get; } = Wrap(
    [
        // Public OKAP protocol.
        new Route("POST", OkapPaths.Request, OkapRouteNames.OkapRequest, (c, s) => Get<OkapProtocolHandlers>(s).RequestAsync(c)).Accepts<OkapAccessRequest>().Returns<OkapAccessResponse>(),
        new Route("POST", OkapPaths.Authorize, OkapRouteNames.OkapAuthorize, (c, s) => Get<OkapProtocolHandlers>(s).AuthorizeAsync(c)).Accepts<OkapAuthorizeRequest>().Returns<OkapAuthorizeResponse>(),
        new Route("GET", OkapPaths.AuthorizePoll, OkapRouteNames.OkapAuthorizePoll, (c, s) => Get<OkapProtocolHandlers>(s).PollAsync(c, Value(c, "id"))).Returns<OkapAuthorizeResponse>(),
        new Route("GET", OkapPaths.Health, OkapRouteNames.Health, (c, s) => Task.FromResult(Get<OkapProtocolHandlers>(s).Health())).Returns<MessageView>(),
        new Route("GET", OkapPaths.Ready, OkapRouteNames.Ready, (c, s) => Get<Health.ReadinessHandler>(s).ReadyAsync(c)).Returns<Health.ReadinessView>(),

        // Owner sign-in, and the owner's own sign-in settings (browser sessions only).
        ..AccountHandlers.Routes,
        ..SecurityHandlers.Routes,

        // Admin API.
        ..RequestEndpoints.Routes,
        ..TokenEndpoints.Routes,
        ..UsageEndpoints.Routes,
        ..KeyEndpoints.Routes,
        ..PolicyEndpoints.Routes,
        ..PriceEndpoints.Routes,
        ..AuditEndpoints.Routes,
        ..AccessKeyEndpoints.Routes,

        // The web page.
        new Route("GET", OkapPaths.Page, OkapRouteNames.Page, (c, s) => Task.FromResult(Get<PageHandlers>(s).Index(c))),
        new Route("GET", OkapPaths.PageAssets, OkapRouteNames.PageAssets, (c, s) => Task.FromResult(Get<PageHandlers>(s).Asset(c, Value(c, "path")))),
    ]);

    private static Route[] Wrap(Route[] routes)
    {
        for (var i = 0; i < routes.Length; i++)
        {
            var route = routes[i];
            // An admin route that forgot its scope would be refused to every key: make that a start-up error instead.
            if (route.Tag == "admin" && !route.Metadata.OfType<Auth.RequiredScope>().Any())
            {
                throw new InvalidOperationException($"admin route {route.Name} declares no access key scope (Route.Needs)");
            }
            var inner = route.Handler;
            // Probes reach every origin, the proxy's own included.
            var guarded = route.Name is OkapRouteNames.Health or OkapRouteNames.Ready;
            routes[i] = route with
            {
                Handler = (c, s) =>
                {
                    c.Features.Set(route);
                    return guarded || Get<Core.VaultOrigins>(s) is var origins && origins.ServesPage(origins.RequestHost(c.Request.Host.Value, h => c.Request.Headers[h].ToString()))
                        ? inner(c, s)
                        : Task.FromResult(Http.Errors.Status(StatusCodes.Status404NotFound, Protocol.OkapErrorTypes.NotFound,
                            "this address serves only the vault's proxy (/v1/{provider}/…); the vault's page is at its own address"));
                },
            };
        }
        return routes;
    }

    private static T Get<T>(IServiceProvider services) where T : notnull => (T)services.GetService(typeof(T))!;

    /// <summary>A route value (<c>{id}</c>, <c>{provider}</c>, …) as the host matched it.</summary>
    internal static string Value(HttpContext context, string name) => context.Request.RouteValues[name]?.ToString() ?? "";
}
