using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Okap.AspNetCore.Admin;
using Okap.Protocol;
using Okap.Protocol.Admin;
using Okap.AspNetCore.Auth;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Accounts.SignIn;
using Okap.Core.Audit;

namespace Okap.AspNetCore.Endpoints;

/// <summary>Owner sign-in routes under <c>/okap/account</c>.</summary>
public sealed class AccountHandlers(
    AccountService accounts,
    OwnerResolver owners,
    OwnerAccess access,
    PublicRateLimiter rateLimiter,
    OwnerSessions sessions,
    Passkeys passkeys,
    AuditLog audit,
    IOptions<OkapAuthOptions> authOptions,
    IOptions<OkapHttpOptions> httpOptions,
    Core.Accounts.IOwnerStore ownerStore)
{
    /// <summary>Sign-in, setup, sign-out and passkey sign-in.</summary>
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<AccountHandlers>("GET", OkapPaths.AccountSession, OkapRouteNames.AccountSession, (e, c) => e.SessionAsync(c)).Returns<SessionView>(),
        OkapRoutes.On<AccountHandlers>("POST", OkapPaths.AccountSetup, OkapRouteNames.AccountSetup, (e, c) => e.CreateAccountAsync(c)).Accepts<CreateAccountBody>().Returns<MessageView>(),
        OkapRoutes.On<AccountHandlers>("POST", OkapPaths.AccountLogin, OkapRouteNames.AccountLogin, (e, c) => e.LoginAsync(c)).Accepts<SignInBody>().Returns<MessageView>(),
        OkapRoutes.On<AccountHandlers>("POST", OkapPaths.AccountLogout, OkapRouteNames.AccountLogout, (e, c) => e.LogoutAsync(c)).Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<AccountHandlers>("POST", OkapPaths.AccountPasskeySignInOptions, OkapRouteNames.AccountPasskeySignInOptions, (e, c) => e.PasskeySignInOptionsAsync(c)).Returns<PasskeyOptionsView>(),
        OkapRoutes.On<AccountHandlers>("POST", OkapPaths.AccountPasskeySignIn, OkapRouteNames.AccountPasskeySignIn, (e, c) => e.PasskeySignInAsync(c)).Accepts<PasskeySignInBody>().Returns<MessageView>(),
    ];

    private readonly int _maxBody = httpOptions.Value.MaxBodyBytes;

    /// <summary><c>GET /okap/account/session</c>: who is signed in (with an anti-forgery token), or 401 saying whether setup is needed.</summary>
    public async Task<IResult> SessionAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var result = await context.AuthenticateAsync(OwnerAuth.Scheme);
        var ownerId = result.Succeeded ? result.Principal?.FindFirstValue(OwnerAuth.OwnerIdClaim) : null;
        if (ownerId is null && OwnerAuth.SessionUncheckable(context)) return Errors.SessionUncheckable();
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
        var sessionId = OwnerSessions.NewId();
        using var actor = AuditActor.Use(AuditActor.Session(sessionId));
        var created = await accounts.CreateAccountAsync(body!.SetupToken, body.UserName, body.Password, authOptions.Value.AllowRegistration, ct);
        if (created.Outcome == Outcome.Invalid) return Errors.Invalid(created.Error!);
        if (created.Outcome == Outcome.Conflict) return Errors.Conflict(created.Message!);
        await SignInCookieAsync(context, created.Value!.Id, sessionId, "password");
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
        var attempt = await accounts.SignInAsync(body.UserName, body.Password, body.TotpCode, body.RecoveryCode, ClientAddress.Of(context), ct);
        switch (attempt.Outcome)
        {
            case SignInOutcome.Succeeded:
                await SignInCookieAsync(context, attempt.OwnerId!, OwnerSessions.NewId(), "password");
                return TypedResults.Json(new MessageView("signed in"), AdminJsonContext.Default.MessageView);
            case SignInOutcome.Throttled:
                return Throttled(attempt.RetryAfter!.Value);
            case SignInOutcome.SecondFactorRequired:
                return Errors.Status(StatusCodes.Status401Unauthorized, "second_factor_required", attempt.TotpEnabled
                    ? "enter the code from your authenticator app (totp_code) or a recovery code (recovery_code), or sign in with a passkey"
                    : "this account signs in with a passkey, or a recovery code (recovery_code)", attempt.TotpEnabled ? "totp_code" : "passkey");
            case SignInOutcome.SecondFactorFailed:
                return Errors.Status(StatusCodes.Status401Unauthorized, "invalid_second_factor", "that code is wrong or was already used",
                    attempt.TotpEnabled ? "totp_code" : "recovery_code");
            default:
                return Errors.Status(StatusCodes.Status401Unauthorized, "invalid_credentials", "wrong user name or password");
        }
    }

    /// <summary><c>POST /okap/account/passkey-login/options</c>: starts a passkey sign-in (any account's discoverable passkey).</summary>
    public async Task<IResult> PasskeySignInOptionsAsync(HttpContext context)
    {
        if (rateLimiter.TryAcquire(context) is { } limited) return limited;
        if (await accounts.SignInWaitAsync(ClientAddress.Of(context), context.RequestAborted) is { } wait) return Throttled(wait);
        return OptionsReply(passkeys.BeginSignIn(RelyingPartyOf(context)));
    }

    /// <summary><c>POST /okap/account/passkey-login</c>: finishes a passkey sign-in and sets the session cookie.</summary>
    public async Task<IResult> PasskeySignInAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        if (rateLimiter.TryAcquire(context) is { } limited) return limited;
        var address = ClientAddress.Of(context);
        if (await accounts.SignInWaitAsync(address, ct) is { } wait) return Throttled(wait);
        var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.PasskeySignInBody, _maxBody, ct);
        if (error is not null) return error;
        var ownerId = await passkeys.CompleteSignInAsync(body!.State, body.Credential, RelyingPartyOf(context), ct);
        if (ownerId is null)
        {
            await accounts.RecordFailedSignInAsync(address, ct);
            return Errors.Status(StatusCodes.Status401Unauthorized, "invalid_credentials", "that passkey did not sign in: it is unknown here, expired or already used; try again");
        }
        var sessionId = OwnerSessions.NewId();
        await SignInCookieAsync(context, ownerId, sessionId, "passkey");
        using var actor = AuditActor.Use(AuditActor.Session(sessionId));
        await audit.AppendAsync(ownerId, AuditEvents.SignIn, ct, clientAddress: address, detail: "passkey");
        return TypedResults.Json(new MessageView("signed in"), AdminJsonContext.Default.MessageView);
    }

    /// <summary><c>POST /okap/account/logout</c>.</summary>
    public async Task<IResult> LogoutAsync(HttpContext context)
    {
        var (ownerId, error) = await access.RequireOwnerAsync(context);
        if (error is not null) return error;
        if (context.User.FindFirstValue(OwnerAuth.SessionIdClaim) is { } sessionId) await sessions.EndAsync(ownerId!, sessionId, context.RequestAborted);
        await context.SignOutAsync(OwnerAuth.CookieScheme);
        return TypedResults.NoContent();
    }

    /// <summary>Where passkeys are bound: the host and origin the page is served at (after the host's forwarded-header handling).</summary>
    internal static RelyingParty RelyingPartyOf(HttpContext context) =>
        new(context.Request.Host.Host, $"{context.Request.Scheme}://{context.Request.Host.Value}");

    internal static IResult OptionsReply(PasskeyCeremony ceremony)
    {
        using var options = System.Text.Json.JsonDocument.Parse(ceremony.OptionsJson);
        return TypedResults.Json(new PasskeyOptionsView(options.RootElement.Clone(), ceremony.State), AdminJsonContext.Default.PasskeyOptionsView);
    }

    private static IResult Throttled(TimeSpan wait) => Errors.Status(StatusCodes.Status429TooManyRequests, "too_many_attempts",
        $"too many failed sign-ins from this address; try again in {Math.Max(1, (int)Math.Ceiling(wait.TotalMinutes))} minute(s)", retryAfter: wait);

    /// <summary>Starts a server-side session and sets its cookie.</summary>
    private async Task SignInCookieAsync(HttpContext context, string ownerId, string sessionId, string method)
    {
        await sessions.StartAsync(ownerId, sessionId, method, ClientAddress.Of(context), context.Request.Headers.UserAgent.ToString(),
            authOptions.Value.SessionLifetime, context.RequestAborted);
        var identity = new ClaimsIdentity([new Claim(OwnerAuth.OwnerIdClaim, ownerId), new Claim("okap:auth", "cookie"),
            new Claim(OwnerAuth.SessionIdClaim, sessionId)], OwnerAuth.CookieScheme);
        await context.SignInAsync(OwnerAuth.CookieScheme, new ClaimsPrincipal(identity));
    }
}
