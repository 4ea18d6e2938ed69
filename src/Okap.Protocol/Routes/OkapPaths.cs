namespace Okap.Protocol;

/// <summary>
/// The route patterns of every vault route outside the proxy, shared by the server's route table, the Azure Functions
/// attributes (which must be constants), the C# client and the CLI. Written in the form both hosts accept: no leading
/// slash (the Functions host adds none, see host.json) and a catch-all as <c>{*name}</c>; the server roots each with
/// <see cref="Rooted"/>. Clients build a concrete path with <see cref="Format"/>.
/// </summary>
public static class OkapPaths
{
    // Public OKAP protocol.
    public const string Request = "okap/request";
    public const string Authorize = "okap/authorize";
    public const string AuthorizePoll = "okap/authorize/{id}";
    public const string Health = "okap/health";
    public const string Ready = "okap/ready";

    // Owner sign-in.
    public const string AccountSession = "okap/account/session";
    public const string AccountSetup = "okap/account/setup";
    public const string AccountLogin = "okap/account/login";
    public const string AccountLogout = "okap/account/logout";
    public const string AccountPasskeySignInOptions = "okap/account/passkey-login/options";
    public const string AccountPasskeySignIn = "okap/account/passkey-login";
    public const string AccountSecurity = "okap/account/security";
    public const string AccountPassword = "okap/account/password";
    public const string AccountSessionById = "okap/account/sessions/{id}";
    public const string AccountSignOutEverywhere = "okap/account/logout-everywhere";
    public const string AccountTotpSetup = "okap/account/totp/setup";
    public const string AccountTotpConfirm = "okap/account/totp/confirm";
    public const string AccountTotpDisable = "okap/account/totp/disable";
    public const string AccountRecoveryCodes = "okap/account/recovery-codes";
    public const string AccountPasskeyOptions = "okap/account/passkeys/options";
    public const string AccountPasskeys = "okap/account/passkeys";
    public const string AccountPasskeyById = "okap/account/passkeys/{id}";

    // Admin API.
    public const string Requests = "okap/admin/requests";
    public const string RequestById = "okap/admin/requests/{id}";
    public const string ApproveRequest = "okap/admin/requests/{id}/approve";
    public const string DenyRequest = "okap/admin/requests/{id}/deny";
    public const string Tokens = "okap/admin/tokens";
    public const string TokenById = "okap/admin/tokens/{id}";
    public const string RevokeToken = "okap/admin/tokens/{id}/revoke";
    public const string TokenUsage = "okap/admin/tokens/{id}/usage";
    public const string Usage = "okap/admin/usage";
    public const string Keys = "okap/admin/keys";
    public const string KeyByProvider = "okap/admin/keys/{provider}";
    public const string Policies = "okap/admin/policies";
    public const string PolicyById = "okap/admin/policies/{id}";
    public const string Prices = "okap/admin/prices";
    /// <summary>Model names may hold <c>/</c>, so the model is a catch-all.</summary>
    public const string PriceByModel = "okap/admin/prices/{provider}/{*model}";
    public const string Catalog = "okap/admin/catalog";
    public const string Audit = "okap/admin/audit";
    public const string AccessKeys = "okap/admin/access-keys";
    public const string AccessKeyById = "okap/admin/access-keys/{id}";

    // The web page. The site root is written {ignored:maxlength(0)?} for the Functions host, which never matches an empty route.
    public const string Page = "{ignored:maxlength(0)?}";
    public const string PageAssets = "assets/{*path}";

    /// <summary>The OpenAPI document (route value <c>documentName</c>: the document is <c>okap</c>).</summary>
    public const string OpenApiDocument = "okap/{documentName}.json";

    /// <summary>
    /// <paramref name="pattern"/> as an ASP.NET Core route pattern: rooted, a catch-all as <c>{**name}</c> (which keeps
    /// its slashes when links are generated), and the Functions-only site-root spelling as <c>/</c>.
    /// </summary>
    public static string Rooted(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return pattern == Page ? "/" : "/" + pattern.Replace("{*", "{**", StringComparison.Ordinal);
    }

    /// <summary>
    /// The absolute path of <paramref name="pattern"/> with its parameters, in order, replaced by <paramref name="values"/>
    /// (each percent-encoded, so an id or model name cannot add a segment): <c>Format(TokenUsage, "tok_1")</c> is
    /// <c>/okap/admin/tokens/tok_1/usage</c>.
    /// </summary>
    public static string Format(string pattern, params string[] values)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(values);
        var path = new System.Text.StringBuilder("/", pattern.Length + 16);
        var next = 0;
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '{')
            {
                path.Append(pattern[i]);
                continue;
            }
            var end = pattern.IndexOf('}', i);
            if (next == values.Length) throw new ArgumentException($"{pattern} has more parameters than the {values.Length} values given", nameof(values));
            path.Append(Uri.EscapeDataString(values[next++]));
            i = end;
        }
        if (next != values.Length) throw new ArgumentException($"{pattern} has {next} parameters, not {values.Length}", nameof(values));
        return path.ToString();
    }
}

/// <summary>The name of every route (the Functions host's function names; the server's endpoint names).</summary>
public static class OkapRouteNames
{
    public const string OkapRequest = nameof(OkapRequest);
    public const string OkapAuthorize = nameof(OkapAuthorize);
    public const string OkapAuthorizePoll = nameof(OkapAuthorizePoll);
    public const string Health = nameof(Health);
    public const string Ready = nameof(Ready);
    public const string AccountSession = nameof(AccountSession);
    public const string AccountSetup = nameof(AccountSetup);
    public const string AccountLogin = nameof(AccountLogin);
    public const string AccountLogout = nameof(AccountLogout);
    public const string AccountPasskeySignInOptions = nameof(AccountPasskeySignInOptions);
    public const string AccountPasskeySignIn = nameof(AccountPasskeySignIn);
    public const string AccountSecurity = nameof(AccountSecurity);
    public const string AccountPassword = nameof(AccountPassword);
    public const string AccountEndSession = nameof(AccountEndSession);
    public const string AccountSignOutEverywhere = nameof(AccountSignOutEverywhere);
    public const string AccountTotpSetup = nameof(AccountTotpSetup);
    public const string AccountTotpConfirm = nameof(AccountTotpConfirm);
    public const string AccountTotpDisable = nameof(AccountTotpDisable);
    public const string AccountRecoveryCodes = nameof(AccountRecoveryCodes);
    public const string AccountPasskeyOptions = nameof(AccountPasskeyOptions);
    public const string AccountAddPasskey = nameof(AccountAddPasskey);
    public const string AccountRemovePasskey = nameof(AccountRemovePasskey);
    public const string ListRequests = nameof(ListRequests);
    public const string GetRequest = nameof(GetRequest);
    public const string ApproveRequest = nameof(ApproveRequest);
    public const string DenyRequest = nameof(DenyRequest);
    public const string ListTokens = nameof(ListTokens);
    public const string GetToken = nameof(GetToken);
    public const string RevokeToken = nameof(RevokeToken);
    public const string NarrowToken = nameof(NarrowToken);
    public const string TokenUsage = nameof(TokenUsage);
    public const string Usage = nameof(Usage);
    public const string ListKeys = nameof(ListKeys);
    public const string SetKey = nameof(SetKey);
    public const string RemoveKey = nameof(RemoveKey);
    public const string ListPolicies = nameof(ListPolicies);
    public const string CreatePolicy = nameof(CreatePolicy);
    public const string UpdatePolicy = nameof(UpdatePolicy);
    public const string RemovePolicy = nameof(RemovePolicy);
    public const string ListPrices = nameof(ListPrices);
    public const string SetPrice = nameof(SetPrice);
    public const string RemovePrice = nameof(RemovePrice);
    public const string PriceCatalog = nameof(PriceCatalog);
    public const string Audit = nameof(Audit);
    public const string ListAccessKeys = nameof(ListAccessKeys);
    public const string CreateAccessKey = nameof(CreateAccessKey);
    public const string RevokeAccessKey = nameof(RevokeAccessKey);
    public const string Page = nameof(Page);
    public const string PageAssets = nameof(PageAssets);
    public const string OpenApiDocument = nameof(OpenApiDocument);
}
