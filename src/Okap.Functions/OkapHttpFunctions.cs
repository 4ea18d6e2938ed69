using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Okap.AspNetCore;

namespace Okap.Functions;

/// <summary>
/// One function per entry of <see cref="OkapRoutes.All"/>, named after the entry: each hands its request to the
/// entry's handler (the code the self-hosted server maps) and writes the result straight to the response, so
/// nothing is buffered here. Attributes are literal because the Functions SDK reads them at build time; the
/// drift test (tests/Okap.Functions.Tests) compares them with the routes the server maps.
/// Routes: host.json sets an empty route prefix, so a function's route is the server's pattern without its
/// leading slash; a catch-all is <c>{*name}</c> (ASP.NET Core's <c>{**name}</c>).
/// </summary>
public static class OkapHttpFunctions
{
    private static readonly FrozenDictionary<string, OkapRoutes.Route> Routes = OkapRoutes.All.ToFrozenDictionary(r => r.Name, StringComparer.Ordinal);

    // Public OKAP protocol.
    [Function(nameof(OkapRequest))]
    public static Task OkapRequest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/request")] HttpRequest req) => Run(req, nameof(OkapRequest));

    [Function(nameof(OkapAuthorize))]
    public static Task OkapAuthorize([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/authorize")] HttpRequest req) => Run(req, nameof(OkapAuthorize));

    [Function(nameof(OkapAuthorizePoll))]
    public static Task OkapAuthorizePoll([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/authorize/{id}")] HttpRequest req) => Run(req, nameof(OkapAuthorizePoll));

    [Function(nameof(Health))]
    public static Task Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/health")] HttpRequest req) => Run(req, nameof(Health));

    [Function(nameof(Ready))]
    public static Task Ready([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/ready")] HttpRequest req) => Run(req, nameof(Ready));

    // Owner sign-in.
    [Function(nameof(AccountSession))]
    public static Task AccountSession([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/account/session")] HttpRequest req) => Run(req, nameof(AccountSession));

    [Function(nameof(AccountSetup))]
    public static Task AccountSetup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/account/setup")] HttpRequest req) => Run(req, nameof(AccountSetup));

    [Function(nameof(AccountLogin))]
    public static Task AccountLogin([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/account/login")] HttpRequest req) => Run(req, nameof(AccountLogin));

    [Function(nameof(AccountLogout))]
    public static Task AccountLogout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/account/logout")] HttpRequest req) => Run(req, nameof(AccountLogout));

    // Admin API.
    [Function(nameof(ListRequests))]
    public static Task ListRequests([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/requests")] HttpRequest req) => Run(req, nameof(ListRequests));

    [Function(nameof(GetRequest))]
    public static Task GetRequest([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/requests/{id}")] HttpRequest req) => Run(req, nameof(GetRequest));

    [Function(nameof(ApproveRequest))]
    public static Task ApproveRequest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/admin/requests/{id}/approve")] HttpRequest req) => Run(req, nameof(ApproveRequest));

    [Function(nameof(DenyRequest))]
    public static Task DenyRequest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/admin/requests/{id}/deny")] HttpRequest req) => Run(req, nameof(DenyRequest));

    [Function(nameof(ListTokens))]
    public static Task ListTokens([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/tokens")] HttpRequest req) => Run(req, nameof(ListTokens));

    [Function(nameof(GetToken))]
    public static Task GetToken([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/tokens/{id}")] HttpRequest req) => Run(req, nameof(GetToken));

    [Function(nameof(RevokeToken))]
    public static Task RevokeToken([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/admin/tokens/{id}/revoke")] HttpRequest req) => Run(req, nameof(RevokeToken));

    [Function(nameof(NarrowToken))]
    public static Task NarrowToken([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "okap/admin/tokens/{id}")] HttpRequest req) => Run(req, nameof(NarrowToken));

    [Function(nameof(TokenUsage))]
    public static Task TokenUsage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/tokens/{id}/usage")] HttpRequest req) => Run(req, nameof(TokenUsage));

    [Function(nameof(Usage))]
    public static Task Usage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/usage")] HttpRequest req) => Run(req, nameof(Usage));

    [Function(nameof(ListKeys))]
    public static Task ListKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/keys")] HttpRequest req) => Run(req, nameof(ListKeys));

    [Function(nameof(SetKey))]
    public static Task SetKey([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "okap/admin/keys/{provider}")] HttpRequest req) => Run(req, nameof(SetKey));

    [Function(nameof(RemoveKey))]
    public static Task RemoveKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "okap/admin/keys/{provider}")] HttpRequest req) => Run(req, nameof(RemoveKey));

    [Function(nameof(ListPolicies))]
    public static Task ListPolicies([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/policies")] HttpRequest req) => Run(req, nameof(ListPolicies));

    [Function(nameof(CreatePolicy))]
    public static Task CreatePolicy([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/admin/policies")] HttpRequest req) => Run(req, nameof(CreatePolicy));

    [Function(nameof(UpdatePolicy))]
    public static Task UpdatePolicy([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "okap/admin/policies/{id}")] HttpRequest req) => Run(req, nameof(UpdatePolicy));

    [Function(nameof(RemovePolicy))]
    public static Task RemovePolicy([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "okap/admin/policies/{id}")] HttpRequest req) => Run(req, nameof(RemovePolicy));

    [Function(nameof(ListPrices))]
    public static Task ListPrices([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/prices")] HttpRequest req) => Run(req, nameof(ListPrices));

    [Function(nameof(SetPrice))]
    public static Task SetPrice([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "okap/admin/prices/{provider}/{*model}")] HttpRequest req) => Run(req, nameof(SetPrice));

    [Function(nameof(RemovePrice))]
    public static Task RemovePrice([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "okap/admin/prices/{provider}/{*model}")] HttpRequest req) => Run(req, nameof(RemovePrice));

    [Function(nameof(PriceCatalog))]
    public static Task PriceCatalog([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/catalog")] HttpRequest req) => Run(req, nameof(PriceCatalog));

    [Function(nameof(Audit))]
    public static Task Audit([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/audit")] HttpRequest req) => Run(req, nameof(Audit));

    [Function(nameof(ListAccessKeys))]
    public static Task ListAccessKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "okap/admin/access-keys")] HttpRequest req) => Run(req, nameof(ListAccessKeys));

    [Function(nameof(CreateAccessKey))]
    public static Task CreateAccessKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "okap/admin/access-keys")] HttpRequest req) => Run(req, nameof(CreateAccessKey));

    [Function(nameof(RevokeAccessKey))]
    public static Task RevokeAccessKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "okap/admin/access-keys/{id}")] HttpRequest req) => Run(req, nameof(RevokeAccessKey));

    // The web page. "/" is written {ignored:maxlength(0)?}: the Functions host never matches an empty route.
    [Function(nameof(Page))]
    public static Task Page([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "{ignored:maxlength(0)?}")] HttpRequest req) => Run(req, nameof(Page));

    [Function(nameof(PageAssets))]
    public static Task PageAssets([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "assets/{*path}")] HttpRequest req) => Run(req, nameof(PageAssets));

    /// <summary>Runs the route named <paramref name="name"/> on the request's own context and services.</summary>
    internal static async Task Run(HttpRequest request, string name)
    {
        var context = request.HttpContext;
        var result = await Routes[name].Handler(context, context.RequestServices);
        await result.ExecuteAsync(context);
    }
}
