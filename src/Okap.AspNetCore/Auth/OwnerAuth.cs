using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Okap.AspNetCore.Http;
using Okap.Core.Accounts;

namespace Okap.AspNetCore.Auth;

/// <summary>Authentication scheme names and claim types of the owner sign-in.</summary>
public static class OwnerAuth
{
    /// <summary>The policy scheme that picks one of the three below per request.</summary>
    public const string Scheme = "okap";
    public const string CookieScheme = "okap-cookie";
    public const string AccessKeyScheme = "okap-access-key";
    public const string AppServiceScheme = "okap-appservice";
    public const string OwnerIdClaim = "okap:owner";
    public const string CookieName = "okap_session";
    /// <summary>One claim per scope a personal access key holds.</summary>
    public const string ScopeClaim = "okap:scope";
    /// <summary>Who acts, for the audit trail (<see cref="Core.Audit.AuditActor"/>).</summary>
    public const string ActorClaim = "okap:actor";
    /// <summary>The short id of a cookie session, put in the cookie at sign-in (not the cookie itself, which is the secret).</summary>
    public const string SessionIdClaim = "okap:sid";
    /// <summary>The "scope" of admin routes no access key may call: managing access keys and the account's sign-in.</summary>
    public const string SessionOnly = "session";
    /// <summary>Set in <c>HttpContext.Items</c> when the cookie's session could not be checked (store unreachable).</summary>
    public const string SessionUncheckableItem = "okap:session-uncheckable";

    /// <summary>True when this request's session cookie could not be checked against the store.</summary>
    public static bool SessionUncheckable(HttpContext context) => context.Items.ContainsKey(SessionUncheckableItem);

    /// <summary>The audit actor of an authenticated principal: a key, the platform, or the server-side session's id.</summary>
    public static string ActorOf(ClaimsPrincipal principal)
    {
        if (principal.FindFirstValue(ActorClaim) is { } actor) return actor;
        return Core.Audit.AuditActor.Session(principal.FindFirstValue(SessionIdClaim) ?? "unknown");
    }

    internal static string SelectScheme(HttpContext context, bool trustAppService)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer " + Core.Secrets.AccessKeyPrefix, StringComparison.Ordinal)) return AccessKeyScheme;
        if (trustAppService && context.Request.Headers.ContainsKey(AppServicePrincipalHandler.PrincipalHeader)) return AppServiceScheme;
        return CookieScheme;
    }
}

/// <summary>
/// Resolves the signed-in owner for an admin call, and checks anti-forgery on state-changing calls made with
/// browser credentials (cookie or platform session). Handlers call it themselves, so the Functions host, which
/// has no ASP.NET Core authentication middleware, runs exactly the same checks.
/// </summary>
public sealed class OwnerAccess(IAntiforgery antiforgery)
{
    public async Task<(string? OwnerId, IResult? Error)> RequireOwnerAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync(OwnerAuth.Scheme);
        var ownerId = result.Succeeded ? result.Principal?.FindFirstValue(OwnerAuth.OwnerIdClaim) : null;
        if (ownerId is null) return (null, OwnerAuth.SessionUncheckable(context) ? Errors.SessionUncheckable() : Errors.Unauthorized());
        context.User = result.Principal!;
        var byKey = result.Ticket?.AuthenticationScheme == OwnerAuth.AccessKeyScheme;
        if (byKey && ScopeError(context, result.Principal!) is { } refused) return (null, refused);
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method) && !byKey)
        {
            try
            {
                await antiforgery.ValidateRequestAsync(context);
            }
            catch (AntiforgeryValidationException)
            {
                return (null, Errors.Status(StatusCodes.Status403Forbidden, "csrf_failed", "missing or invalid anti-forgery token (X-CSRF-TOKEN header)"));
            }
        }
        return (ownerId, null);
    }

    // A route that declared nothing is refused to keys: failing closed, since OkapRoutes checks admin routes declare one.
    private static IResult? ScopeError(HttpContext context, ClaimsPrincipal principal)
    {
        var needed = OkapRoutes.Current(context)?.Metadata.OfType<RequiredScope>().FirstOrDefault()?.Scope;
        if (needed is null or OwnerAuth.SessionOnly)
        {
            return Errors.Status(StatusCodes.Status403Forbidden, "insufficient_scope",
                "this needs a browser session: access keys cannot manage access keys or the account's sign-in");
        }
        if (principal.HasClaim(OwnerAuth.ScopeClaim, needed)) return null;
        return Errors.Status(StatusCodes.Status403Forbidden, "insufficient_scope", $"this access key lacks the scope this needs: {needed}", param: needed);
    }

    /// <summary>A fresh anti-forgery request token for the signed-in owner (also sets its cookie).</summary>
    public string IssueCsrfToken(HttpContext context) => antiforgery.GetAndStoreTokens(context).RequestToken!;
}

/// <summary>What a personal access key needs to call a route: route metadata, declared once per route in <see cref="OkapRoutes"/>.</summary>
public sealed record RequiredScope(string Scope);

/// <summary>Authenticates <c>Authorization: Bearer okap_pat_…</c> personal access keys.</summary>
internal sealed class AccessKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccessKeyService keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.Ordinal)) return AuthenticateResult.NoResult();
        PersonalAccessKey? key;
        try
        {
            key = await keys.AuthenticateAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        }
        catch (Core.VaultUnavailableException)
        {
            Context.Items[OwnerAuth.SessionUncheckableItem] = true;
            return AuthenticateResult.Fail("the store cannot be reached to check the access key");
        }
        if (key is null) return AuthenticateResult.Fail("invalid or expired access key");
        var identity = new ClaimsIdentity([new Claim(OwnerAuth.OwnerIdClaim, key.OwnerId), new Claim("okap:auth", "access_key"),
            new Claim(OwnerAuth.ActorClaim, Core.Audit.AuditActor.AccessKey(key.Id, key.Name))], Scheme.Name);
        foreach (var scope in key.EffectiveScopes) identity.AddClaim(new Claim(OwnerAuth.ScopeClaim, scope));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }
}

/// <summary>
/// Reads the principal that App Service Authentication puts in <c>X-MS-CLIENT-PRINCIPAL</c> (base64 JSON) and maps
/// the identity provider + subject to an owner, creating one on first sign-in. Registered only when trusted.
/// </summary>
internal sealed class AppServicePrincipalHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    AccountService accounts) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string PrincipalHeader = "X-MS-CLIENT-PRINCIPAL";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var encoded = Request.Headers[PrincipalHeader].ToString();
        if (string.IsNullOrEmpty(encoded) || encoded.Length > 16 * 1024) return AuthenticateResult.NoResult();
        string? provider = null, subject = null, name = null;
        try
        {
            using var doc = JsonDocument.Parse(Convert.FromBase64String(encoded));
            var root = doc.RootElement;
            provider = root.TryGetProperty("auth_typ", out var typ) ? typ.GetString() : null;
            if (root.TryGetProperty("claims", out var claims) && claims.ValueKind == JsonValueKind.Array)
            {
                foreach (var claim in claims.EnumerateArray())
                {
                    var type = claim.TryGetProperty("typ", out var t) ? t.GetString() : null;
                    var value = claim.TryGetProperty("val", out var v) ? v.GetString() : null;
                    if (type is "http://schemas.microsoft.com/identity/claims/objectidentifier" or "oid") subject = value;
                    else if (type is ClaimTypes.NameIdentifier or "sub" && subject is null) subject = value;
                    else if (type is "name" or "preferred_username" or ClaimTypes.Name or ClaimTypes.Email && name is null) name = value;
                }
            }
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return AuthenticateResult.Fail("malformed client principal");
        }
        var headerId = Request.Headers["X-MS-CLIENT-PRINCIPAL-ID"].ToString();
        subject ??= string.IsNullOrEmpty(headerId) ? null : headerId;
        provider ??= Request.Headers["X-MS-CLIENT-PRINCIPAL-IDP"].ToString();
        if (string.IsNullOrEmpty(subject) || string.IsNullOrEmpty(provider)) return AuthenticateResult.Fail("client principal names no subject");
        var ownerId = await accounts.ResolveExternalAsync(provider, subject, name, Context.RequestAborted);
        var identity = new ClaimsIdentity([new Claim(OwnerAuth.OwnerIdClaim, ownerId), new Claim("okap:auth", "appservice"),
            new Claim(OwnerAuth.ActorClaim, Core.Audit.AuditActor.Platform(provider, subject))], Scheme.Name);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }
}

internal static class OwnerAuthRegistration
{
    public static void AddOwnerAuthentication(this IServiceCollection services, bool trustAppService, TimeSpan sessionLifetime, TimeSpan sessionMaxAge, bool httpsOnly)
    {
        var auth = services.AddAuthentication(OwnerAuth.Scheme)
            .AddPolicyScheme(OwnerAuth.Scheme, "OKAP owner", o => o.ForwardDefaultSelector = ctx => OwnerAuth.SelectScheme(ctx, trustAppService))
            .AddCookie(OwnerAuth.CookieScheme, o =>
            {
                o.Cookie.Name = OwnerAuth.CookieName;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.Cookie.SecurePolicy = httpsOnly ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                o.Cookie.Path = "/";
                o.ExpireTimeSpan = sessionLifetime;
                o.SlidingExpiration = true;
                // The cookie alone is not enough: its session must still be live on the server, so signing out (here,
                // everywhere, or by a password change) ends a copied cookie too, on every instance.
                o.Events.OnValidatePrincipal = async ctx =>
                {
                    var ownerId = ctx.Principal?.FindFirstValue(OwnerAuth.OwnerIdClaim);
                    var sessionId = ctx.Principal?.FindFirstValue(OwnerAuth.SessionIdClaim);
                    var sessions = ctx.HttpContext.RequestServices.GetRequiredService<Core.Accounts.SignIn.OwnerSessions>();
                    bool live;
                    try
                    {
                        live = ownerId is not null && sessionId is not null && await sessions.ValidateAsync(ownerId, sessionId, sessionLifetime, sessionMaxAge, ctx.HttpContext.RequestAborted);
                    }
                    catch (Core.VaultUnavailableException)
                    {
                        // Fail closed without signing the person out: an outage must not end every session, and
                        // the call is answered 503 (not 401) so the page does not show the sign-in form.
                        ctx.HttpContext.Items[OwnerAuth.SessionUncheckableItem] = true;
                        ctx.RejectPrincipal();
                        return;
                    }
                    if (!live)
                    {
                        ctx.RejectPrincipal();
                        await ctx.HttpContext.SignOutAsync(OwnerAuth.CookieScheme);
                    }
                };
                o.Events.OnRedirectToLogin = ctx => { ctx.Response.StatusCode = StatusCodes.Status401Unauthorized; return Task.CompletedTask; };
                o.Events.OnRedirectToAccessDenied = ctx => { ctx.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
            })
            .AddScheme<AuthenticationSchemeOptions, AccessKeyHandler>(OwnerAuth.AccessKeyScheme, null);
        if (trustAppService) auth.AddScheme<AuthenticationSchemeOptions, AppServicePrincipalHandler>(OwnerAuth.AppServiceScheme, null);
        services.AddAntiforgery(o =>
        {
            o.HeaderName = "X-CSRF-TOKEN";
            o.Cookie.Name = "okap_csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = httpsOnly ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        });
        services.AddSingleton<OwnerAccess>();
    }
}
