using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Okap.AspNetCore;
using Okap.Protocol;

namespace Okap.Functions;

/// <summary>
/// One function per entry of <see cref="OkapRoutes.All"/>, named after the entry: each hands its request to the
/// entry's handler (the code the self-hosted server maps) and writes the result straight to the response, so
/// nothing is buffered here. Attributes are constants (<see cref="OkapRouteNames"/>, <see cref="OkapPaths"/>, the ones
/// the route table uses) because the Functions SDK reads them at build time; the drift test (tests/Okap.Functions.Tests)
/// compares them with the routes the server maps. host.json sets an empty route prefix, so a function's route is the
/// shared pattern as it stands.
/// </summary>
public static class OkapHttpFunctions
{
    private static readonly FrozenDictionary<string, OkapRoutes.Route> Routes = OkapRoutes.All.ToFrozenDictionary(r => r.Name, StringComparer.Ordinal);

    // Public OKAP protocol.
    [Function(OkapRouteNames.OkapRequest)]
    public static Task OkapRequest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.Request)] HttpRequest req) => Run(req, OkapRouteNames.OkapRequest);

    [Function(OkapRouteNames.OkapAuthorize)]
    public static Task OkapAuthorize([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.Authorize)] HttpRequest req) => Run(req, OkapRouteNames.OkapAuthorize);

    [Function(OkapRouteNames.OkapAuthorizePoll)]
    public static Task OkapAuthorizePoll([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.AuthorizePoll)] HttpRequest req) => Run(req, OkapRouteNames.OkapAuthorizePoll);

    [Function(OkapRouteNames.Health)]
    public static Task Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Health)] HttpRequest req) => Run(req, OkapRouteNames.Health);

    [Function(OkapRouteNames.Ready)]
    public static Task Ready([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Ready)] HttpRequest req) => Run(req, OkapRouteNames.Ready);

    // Owner sign-in.
    [Function(OkapRouteNames.AccountSession)]
    public static Task AccountSession([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.AccountSession)] HttpRequest req) => Run(req, OkapRouteNames.AccountSession);

    [Function(OkapRouteNames.AccountSetup)]
    public static Task AccountSetup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountSetup)] HttpRequest req) => Run(req, OkapRouteNames.AccountSetup);

    [Function(OkapRouteNames.AccountLogin)]
    public static Task AccountLogin([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountLogin)] HttpRequest req) => Run(req, OkapRouteNames.AccountLogin);

    [Function(OkapRouteNames.AccountLogout)]
    public static Task AccountLogout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountLogout)] HttpRequest req) => Run(req, OkapRouteNames.AccountLogout);

    [Function(OkapRouteNames.AccountPasskeySignInOptions)]
    public static Task AccountPasskeySignInOptions([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountPasskeySignInOptions)] HttpRequest req) => Run(req, OkapRouteNames.AccountPasskeySignInOptions);

    [Function(OkapRouteNames.AccountPasskeySignIn)]
    public static Task AccountPasskeySignIn([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountPasskeySignIn)] HttpRequest req) => Run(req, OkapRouteNames.AccountPasskeySignIn);

    [Function(OkapRouteNames.AccountSecurity)]
    public static Task AccountSecurity([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.AccountSecurity)] HttpRequest req) => Run(req, OkapRouteNames.AccountSecurity);

    [Function(OkapRouteNames.AccountPassword)]
    public static Task AccountPassword([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountPassword)] HttpRequest req) => Run(req, OkapRouteNames.AccountPassword);

    [Function(OkapRouteNames.AccountEndSession)]
    public static Task AccountEndSession([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = OkapPaths.AccountSessionById)] HttpRequest req) => Run(req, OkapRouteNames.AccountEndSession);

    [Function(OkapRouteNames.AccountSignOutEverywhere)]
    public static Task AccountSignOutEverywhere([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountSignOutEverywhere)] HttpRequest req) => Run(req, OkapRouteNames.AccountSignOutEverywhere);

    [Function(OkapRouteNames.AccountTotpSetup)]
    public static Task AccountTotpSetup([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountTotpSetup)] HttpRequest req) => Run(req, OkapRouteNames.AccountTotpSetup);

    [Function(OkapRouteNames.AccountTotpConfirm)]
    public static Task AccountTotpConfirm([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountTotpConfirm)] HttpRequest req) => Run(req, OkapRouteNames.AccountTotpConfirm);

    [Function(OkapRouteNames.AccountTotpDisable)]
    public static Task AccountTotpDisable([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountTotpDisable)] HttpRequest req) => Run(req, OkapRouteNames.AccountTotpDisable);

    [Function(OkapRouteNames.AccountRecoveryCodes)]
    public static Task AccountRecoveryCodes([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountRecoveryCodes)] HttpRequest req) => Run(req, OkapRouteNames.AccountRecoveryCodes);

    [Function(OkapRouteNames.AccountPasskeyOptions)]
    public static Task AccountPasskeyOptions([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountPasskeyOptions)] HttpRequest req) => Run(req, OkapRouteNames.AccountPasskeyOptions);

    [Function(OkapRouteNames.AccountAddPasskey)]
    public static Task AccountAddPasskey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccountPasskeys)] HttpRequest req) => Run(req, OkapRouteNames.AccountAddPasskey);

    [Function(OkapRouteNames.AccountRemovePasskey)]
    public static Task AccountRemovePasskey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = OkapPaths.AccountPasskeyById)] HttpRequest req) => Run(req, OkapRouteNames.AccountRemovePasskey);

    // Admin API.
    [Function(OkapRouteNames.ListRequests)]
    public static Task ListRequests([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Requests)] HttpRequest req) => Run(req, OkapRouteNames.ListRequests);

    [Function(OkapRouteNames.GetRequest)]
    public static Task GetRequest([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.RequestById)] HttpRequest req) => Run(req, OkapRouteNames.GetRequest);

    [Function(OkapRouteNames.ApproveRequest)]
    public static Task ApproveRequest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.ApproveRequest)] HttpRequest req) => Run(req, OkapRouteNames.ApproveRequest);

    [Function(OkapRouteNames.DenyRequest)]
    public static Task DenyRequest([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.DenyRequest)] HttpRequest req) => Run(req, OkapRouteNames.DenyRequest);

    [Function(OkapRouteNames.ListTokens)]
    public static Task ListTokens([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Tokens)] HttpRequest req) => Run(req, OkapRouteNames.ListTokens);

    [Function(OkapRouteNames.GetToken)]
    public static Task GetToken([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.TokenById)] HttpRequest req) => Run(req, OkapRouteNames.GetToken);

    [Function(OkapRouteNames.RevokeToken)]
    public static Task RevokeToken([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.RevokeToken)] HttpRequest req) => Run(req, OkapRouteNames.RevokeToken);

    [Function(OkapRouteNames.NarrowToken)]
    public static Task NarrowToken([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = OkapPaths.TokenById)] HttpRequest req) => Run(req, OkapRouteNames.NarrowToken);

    [Function(OkapRouteNames.TokenUsage)]
    public static Task TokenUsage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.TokenUsage)] HttpRequest req) => Run(req, OkapRouteNames.TokenUsage);

    [Function(OkapRouteNames.Usage)]
    public static Task Usage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Usage)] HttpRequest req) => Run(req, OkapRouteNames.Usage);

    [Function(OkapRouteNames.ListKeys)]
    public static Task ListKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Keys)] HttpRequest req) => Run(req, OkapRouteNames.ListKeys);

    [Function(OkapRouteNames.SetKey)]
    public static Task SetKey([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = OkapPaths.KeyByProvider)] HttpRequest req) => Run(req, OkapRouteNames.SetKey);

    [Function(OkapRouteNames.RemoveKey)]
    public static Task RemoveKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = OkapPaths.KeyByProvider)] HttpRequest req) => Run(req, OkapRouteNames.RemoveKey);

    [Function(OkapRouteNames.ListPolicies)]
    public static Task ListPolicies([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Policies)] HttpRequest req) => Run(req, OkapRouteNames.ListPolicies);

    [Function(OkapRouteNames.CreatePolicy)]
    public static Task CreatePolicy([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.Policies)] HttpRequest req) => Run(req, OkapRouteNames.CreatePolicy);

    [Function(OkapRouteNames.UpdatePolicy)]
    public static Task UpdatePolicy([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = OkapPaths.PolicyById)] HttpRequest req) => Run(req, OkapRouteNames.UpdatePolicy);

    [Function(OkapRouteNames.RemovePolicy)]
    public static Task RemovePolicy([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = OkapPaths.PolicyById)] HttpRequest req) => Run(req, OkapRouteNames.RemovePolicy);

    [Function(OkapRouteNames.ListPrices)]
    public static Task ListPrices([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Prices)] HttpRequest req) => Run(req, OkapRouteNames.ListPrices);

    [Function(OkapRouteNames.SetPrice)]
    public static Task SetPrice([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = OkapPaths.PriceByModel)] HttpRequest req) => Run(req, OkapRouteNames.SetPrice);

    [Function(OkapRouteNames.RemovePrice)]
    public static Task RemovePrice([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = OkapPaths.PriceByModel)] HttpRequest req) => Run(req, OkapRouteNames.RemovePrice);

    [Function(OkapRouteNames.PriceCatalog)]
    public static Task PriceCatalog([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Catalog)] HttpRequest req) => Run(req, OkapRouteNames.PriceCatalog);

    [Function(OkapRouteNames.Audit)]
    public static Task Audit([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Audit)] HttpRequest req) => Run(req, OkapRouteNames.Audit);

    [Function(OkapRouteNames.ListAccessKeys)]
    public static Task ListAccessKeys([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.AccessKeys)] HttpRequest req) => Run(req, OkapRouteNames.ListAccessKeys);

    [Function(OkapRouteNames.CreateAccessKey)]
    public static Task CreateAccessKey([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = OkapPaths.AccessKeys)] HttpRequest req) => Run(req, OkapRouteNames.CreateAccessKey);

    [Function(OkapRouteNames.RevokeAccessKey)]
    public static Task RevokeAccessKey([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = OkapPaths.AccessKeyById)] HttpRequest req) => Run(req, OkapRouteNames.RevokeAccessKey);

    // The web page (OkapPaths.Page: the Functions host never matches an empty route).
    [Function(OkapRouteNames.Page)]
    public static Task Page([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.Page)] HttpRequest req) => Run(req, OkapRouteNames.Page);

    [Function(OkapRouteNames.PageAssets)]
    public static Task PageAssets([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.PageAssets)] HttpRequest req) => Run(req, OkapRouteNames.PageAssets);

    /// <summary>Runs the route named <paramref name="name"/> on the request's own context and services.</summary>
    internal static async Task Run(HttpRequest request, string name)
    {
        var context = request.HttpContext;
        var result = await Routes[name].Handler(context, context.RequestServices);
        await result.ExecuteAsync(context);
    }
}
