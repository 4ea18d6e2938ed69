using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Endpoints;

namespace Okap.AspNetCore;

/// <summary>
/// Every route the vault serves outside the proxy, as one table: <see cref="OkapEndpointRouteBuilderExtensions.MapOkap"/>
/// maps it on any ASP.NET Core host, and the Azure Functions host declares one function per entry.
/// </summary>
public static class OkapRoutes
{
    /// <summary>One route: HTTP method, pattern and the handler that serves it.</summary>
    public sealed record Route(string Method, string Pattern, string Name, Func<HttpContext, IServiceProvider, Task<IResult>> Handler);

    /// <summary>
    /// Every route. All but the liveness and readiness checks refuse (404) on the proxy's own origin when it has one
    /// (<see cref="Core.VaultOrigins"/>): nothing of an owner's session may be reachable where upstream answers are served.
    /// </summary>
    public static IReadOnlyList<Route> All { get; } = Guard(
    [
        // Public OKAP protocol.
        new("POST", "/okap/request", "OkapRequest", (c, s) => Get<OkapProtocolHandlers>(s).RequestAsync(c)),
        new("POST", "/okap/authorize", "OkapAuthorize", (c, s) => Get<OkapProtocolHandlers>(s).AuthorizeAsync(c)),
        new("GET", "/okap/authorize/{id}", "OkapAuthorizePoll", (c, s) => Get<OkapProtocolHandlers>(s).PollAsync(c, Value(c, "id"))),
        new("GET", "/okap/health", "Health", (c, s) => Task.FromResult(Get<OkapProtocolHandlers>(s).Health())),
        new("GET", "/okap/ready", "Ready", (c, s) => Get<Health.ReadinessHandler>(s).ReadyAsync(c)),

        // Owner sign-in.
        new("GET", "/okap/account/session", "AccountSession", (c, s) => Get<AccountHandlers>(s).SessionAsync(c)),
        new("POST", "/okap/account/setup", "AccountSetup", (c, s) => Get<AccountHandlers>(s).CreateAccountAsync(c)),
        new("POST", "/okap/account/login", "AccountLogin", (c, s) => Get<AccountHandlers>(s).LoginAsync(c)),
        new("POST", "/okap/account/logout", "AccountLogout", (c, s) => Get<AccountHandlers>(s).LogoutAsync(c)),

        // Admin API.
        new("GET", "/okap/admin/requests", "ListRequests", (c, s) => Get<AdminHandlers>(s).ListRequestsAsync(c)),
        new("GET", "/okap/admin/requests/{id}", "GetRequest", (c, s) => Get<AdminHandlers>(s).GetRequestAsync(c, Value(c, "id"))),
        new("POST", "/okap/admin/requests/{id}/approve", "ApproveRequest", (c, s) => Get<AdminHandlers>(s).ApproveAsync(c, Value(c, "id"))),
        new("POST", "/okap/admin/requests/{id}/deny", "DenyRequest", (c, s) => Get<AdminHandlers>(s).DenyAsync(c, Value(c, "id"))),
        new("GET", "/okap/admin/tokens", "ListTokens", (c, s) => Get<AdminHandlers>(s).ListTokensAsync(c)),
        new("GET", "/okap/admin/tokens/{id}", "GetToken", (c, s) => Get<AdminHandlers>(s).GetTokenAsync(c, Value(c, "id"))),
        new("POST", "/okap/admin/tokens/{id}/revoke", "RevokeToken", (c, s) => Get<AdminHandlers>(s).RevokeTokenAsync(c, Value(c, "id"))),
        new("PATCH", "/okap/admin/tokens/{id}", "NarrowToken", (c, s) => Get<AdminHandlers>(s).NarrowTokenAsync(c, Value(c, "id"))),
        new("GET", "/okap/admin/tokens/{id}/usage", "TokenUsage", (c, s) => Get<AdminHandlers>(s).TokenUsageAsync(c, Value(c, "id"))),
        new("GET", "/okap/admin/usage", "Usage", (c, s) => Get<AdminHandlers>(s).UsageAsync(c)),
        new("GET", "/okap/admin/keys", "ListKeys", (c, s) => Get<AdminHandlers>(s).ListKeysAsync(c)),
        new("PUT", "/okap/admin/keys/{provider}", "SetKey", (c, s) => Get<AdminHandlers>(s).SetKeyAsync(c, Value(c, "provider"))),
        new("DELETE", "/okap/admin/keys/{provider}", "RemoveKey", (c, s) => Get<AdminHandlers>(s).RemoveKeyAsync(c, Value(c, "provider"))),
        new("GET", "/okap/admin/policies", "ListPolicies", (c, s) => Get<AdminHandlers>(s).ListPoliciesAsync(c)),
        new("POST", "/okap/admin/policies", "CreatePolicy", (c, s) => Get<AdminHandlers>(s).CreatePolicyAsync(c)),
        new("PUT", "/okap/admin/policies/{id}", "UpdatePolicy", (c, s) => Get<AdminHandlers>(s).UpdatePolicyAsync(c, Value(c, "id"))),
        new("DELETE", "/okap/admin/policies/{id}", "RemovePolicy", (c, s) => Get<AdminHandlers>(s).RemovePolicyAsync(c, Value(c, "id"))),
        new("GET", "/okap/admin/prices", "ListPrices", (c, s) => Get<AdminHandlers>(s).ListPricesAsync(c)),
        new("PUT", "/okap/admin/prices/{provider}/{**model}", "SetPrice", (c, s) => Get<AdminHandlers>(s).SetPriceAsync(c, Value(c, "provider"), Value(c, "model"))),
        new("DELETE", "/okap/admin/prices/{provider}/{**model}", "RemovePrice", (c, s) => Get<AdminHandlers>(s).RemovePriceAsync(c, Value(c, "provider"), Value(c, "model"))),
        new("GET", "/okap/admin/catalog", "PriceCatalog", (c, s) => Get<AdminHandlers>(s).CatalogAsync(c)),
        new("GET", "/okap/admin/audit", "Audit", (c, s) => Get<AdminHandlers>(s).AuditAsync(c)),
        new("GET", "/okap/admin/access-keys", "ListAccessKeys", (c, s) => Get<AdminHandlers>(s).ListAccessKeysAsync(c)),
        new("POST", "/okap/admin/access-keys", "CreateAccessKey", (c, s) => Get<AdminHandlers>(s).CreateAccessKeyAsync(c)),
        new("DELETE", "/okap/admin/access-keys/{id}", "RevokeAccessKey", (c, s) => Get<AdminHandlers>(s).RevokeAccessKeyAsync(c, Value(c, "id"))),

        // The web page.
        new("GET", "/", "Page", (c, s) => Task.FromResult(Get<PageHandlers>(s).Index(c))),
        new("GET", "/assets/{**path}", "PageAssets", (c, s) => Task.FromResult(Get<PageHandlers>(s).Asset(c, Value(c, "path")))),
    ]);

    private static Route[] Guard(Route[] routes)
    {
        for (var i = 0; i < routes.Length; i++)
        {
            var inner = routes[i].Handler;
            // Probes reach every origin, the proxy's own included.
            if (routes[i].Name is "Health" or "Ready") continue;
            routes[i] = routes[i] with
            {
                Handler = (c, s) => Get<Core.VaultOrigins>(s) is var origins && origins.ServesPage(origins.RequestHost(c.Request.Host.Value, h => c.Request.Headers[h].ToString()))
                    ? inner(c, s)
                    : Task.FromResult(Http.Errors.Status(StatusCodes.Status404NotFound, Protocol.OkapErrorTypes.NotFound,
                        "this address serves only the vault's proxy (/v1/{provider}/…); the vault's page is at its own address")),
            };
        }
        return routes;
    }

    private static T Get<T>(IServiceProvider services) where T : notnull => (T)services.GetService(typeof(T))!;

    private static string Value(HttpContext context, string name) => context.Request.RouteValues[name]?.ToString() ?? "";
}
