using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Okap.AspNetCore.Admin;
using Okap.Protocol.Admin;
using Okap.AspNetCore.Auth;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;

namespace Okap.AspNetCore.Endpoints;

/// <summary>Owner sign-in routes under <c>/okap/account</c>.</summary>
public sealed class AccountHandlers(
    AccountService accounts,
    OwnerResolver owners,
    OwnerAccess access,
    PublicRateLimiter rateLimiter,
    IOptions<OkapAuthOptions> authOptions,
    IOptions<OkapHttpOptions> httpOptions,
    Core.Accounts.IOwnerStore ownerStore)
{
    private readonly int _maxBody = httpOptions.Value.MaxBodyBytes;

    /// <summary><c>GET /okap/account/session</c>: who is signed in (with an anti-forgery token), or 401 saying whether setup is needed.</summary>
    public async Task<IResult> SessionAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var result = await context.AuthenticateAsync(OwnerAuth.Scheme);
        var ownerId = result.Succeeded ? result.Principal?.FindFirstValue(OwnerAuth.OwnerIdClaim) : null;
        var owner = ownerId is null ? null : await accounts.GetOwnerAsync(ownerId, ct);
        if (owner is null)
        {
            var auth = authOptions.Value;
            // Behind the platform's sign-in there are no local accounts to set up: the person signs in there.
            var setupRequired = !auth.TrustAppServicePrincipal && await ownerStore.CountOwnersAsync(ct) == 0;
            return TypedResults.Json(new SetupStateView(setupRequired, auth.AllowRegistration, auth.TrustAppServicePrincipal ? auth.PlatformSignInPath : null),
                AdminJsonContext.Default.SetupStateView, statusCode: StatusCodes.Status401Unauthorized);
        }
        context.User = result.Principal!;
        var method = result.Principal!.FindFirstValue("okap:auth") ?? "cookie";
        return TypedResults.Json(new SessionView(owner.Id, owner.Slug, owner.DisplayName, owners.VaultAddressFor(owner), method, access.IssueCsrfToken(context),
            method == "appservice" ? authOptions.Value.PlatformSignOutPath : null), AdminJsonContext.Default.SessionView);
    }

    /// <summary><c>POST /okap/account/setup</c>: creates an account (the first with the one-time setup secret) and signs it in.</summary>
    public async Task<IResult> CreateAccountAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        if (rateLimiter.TryAcquire(context) is { } limited) return limited;
        var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.CreateAccountBody, _maxBody, ct);
        if (error is not null) return error;
        var sessionId = NewSessionId();
        using var actor = AuditActor.Use(AuditActor.Session(sessionId));
        var created = await accounts.CreateAccountAsync(body!.SetupToken, body.UserName, body.Password, authOptions.Value.AllowRegistration, ct);
        if (created.Outcome == Outcome.Invalid) return Errors.Invalid(created.Error!);
        if (created.Outcome == Outcome.Conflict) return Errors.Conflict(created.Message!);
        await SignInCookieAsync(context, created.Value!.Id, sessionId);
        return TypedResults.Json(new MessageView("account created"), AdminJsonContext.Default.MessageView, statusCode: StatusCodes.Status201Created);
    }

    /// <summary><c>POST /okap/account/login</c>.</summary>
    public async Task<IResult> LoginAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        if (rateLimiter.TryAcquire(context) is { } limited) return limited;
        var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.SignInBody, _maxBody, ct);
        if (error is not null) return error;
        using var actor = AuditActor.Use(AuditActor.Password(body!.UserName?.Trim().ToLowerInvariant() ?? ""));
        var (outcome, ownerId) = await accounts.SignInAsync(body!.UserName, body.Password, ClientAddress.Of(context), ct);
        switch (outcome)
        {
            case SignInOutcome.Succeeded:
                await SignInCookieAsync(context, ownerId!, NewSessionId());
                return TypedResults.Json(new MessageView("signed in"), AdminJsonContext.Default.MessageView);
            case SignInOutcome.LockedOut:
                return Errors.Status(StatusCodes.Status423Locked, "locked_out", "too many failed sign-ins; try again in 15 minutes");
            default:
                return Errors.Status(StatusCodes.Status401Unauthorized, "invalid_credentials", "wrong user name or password");
        }
    }

    /// <summary><c>POST /okap/account/logout</c>.</summary>
    public async Task<IResult> LogoutAsync(HttpContext context)
    {
        var (_, error) = await access.RequireOwnerAsync(context);
        if (error is not null) return error;
        await context.SignOutAsync(OwnerAuth.CookieScheme);
        return TypedResults.NoContent();
    }

    // A short public handle of the session, for the audit trail; the cookie stays the only secret.
    private static string NewSessionId() => Core.Secrets.NewId("ses");

    private static Task SignInCookieAsync(HttpContext context, string ownerId, string sessionId)
    {
        var identity = new ClaimsIdentity([new Claim(OwnerAuth.OwnerIdClaim, ownerId), new Claim("okap:auth", "cookie"),
            new Claim(OwnerAuth.SessionIdClaim, sessionId)], OwnerAuth.CookieScheme);
        return context.SignInAsync(OwnerAuth.CookieScheme, new ClaimsPrincipal(identity));
    }
}
