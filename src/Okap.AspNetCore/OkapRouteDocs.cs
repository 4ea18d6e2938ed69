using Okap.AspNetCore.Admin;
using Okap.Protocol;

namespace Okap.AspNetCore;

/// <summary>Body and reply types of the routes, for the OpenAPI document (the handlers themselves read and write JSON explicitly).</summary>
internal static class OkapRouteDocs
{
    public static readonly IReadOnlyDictionary<string, (Type? Body, Type? Reply)> Types = new Dictionary<string, (Type?, Type?)>(StringComparer.Ordinal)
    {
        ["OkapRequest"] = (typeof(OkapAccessRequest), typeof(OkapAccessResponse)),
        ["OkapAuthorize"] = (typeof(OkapAuthorizeRequest), typeof(OkapAuthorizeResponse)),
        ["OkapAuthorizePoll"] = (null, typeof(OkapAuthorizeResponse)),
        ["Health"] = (null, typeof(MessageView)),
        ["Ready"] = (null, typeof(Health.ReadinessView)),
        ["AccountSession"] = (null, typeof(SessionView)),
        ["AccountSetup"] = (typeof(CreateAccountBody), typeof(MessageView)),
        ["AccountLogin"] = (typeof(SignInBody), typeof(MessageView)),
        ["ListRequests"] = (null, typeof(PageView<RequestView>)),
        ["GetRequest"] = (null, typeof(RequestView)),
        ["ApproveRequest"] = (typeof(DecisionBody), typeof(RequestView)),
        ["DenyRequest"] = (typeof(DecisionBody), typeof(RequestView)),
        ["ListTokens"] = (null, typeof(PageView<TokenView>)),
        ["GetToken"] = (null, typeof(TokenView)),
        ["RevokeToken"] = (null, typeof(TokenView)),
        ["NarrowToken"] = (typeof(DecisionBody), typeof(TokenView)),
        ["TokenUsage"] = (null, typeof(TokenUsageView)),
        ["Usage"] = (null, typeof(UsageView)),
        ["ListKeys"] = (null, typeof(IReadOnlyList<KeyView>)),
        ["SetKey"] = (typeof(SetKeyBody), typeof(KeyView)),
        ["ListPolicies"] = (null, typeof(IReadOnlyList<PolicyView>)),
        ["CreatePolicy"] = (typeof(PolicyBody), typeof(PolicyView)),
        ["UpdatePolicy"] = (typeof(PolicyBody), typeof(PolicyView)),
        ["ListPrices"] = (null, typeof(IReadOnlyList<PriceView>)),
        ["SetPrice"] = (typeof(PriceBody), typeof(PriceView)),
        ["PriceCatalog"] = (null, typeof(CatalogView)),
        ["Audit"] = (null, typeof(PageView<AuditView>)),
        ["ListAccessKeys"] = (null, typeof(IReadOnlyList<AccessKeyView>)),
        ["CreateAccessKey"] = (typeof(CreateAccessKeyBody), typeof(CreatedAccessKeyView)),
    };

    /// <summary>Routes whose handler accepts no body at all (approve as asked, deny without a reason).</summary>
    public static readonly IReadOnlySet<string> OptionalBodies = new HashSet<string>(StringComparer.Ordinal) { "ApproveRequest", "DenyRequest" };
}
