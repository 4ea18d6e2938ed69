using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Okap.AspNetCore.Auth;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Accounts.SignIn;
using Okap.Core.Audit;
using Okap.Protocol;
using Okap.Protocol.Admin;

namespace Okap.AspNetCore.Endpoints;

/// <summary>
/// The signed-in owner's own sign-in, under <c>/okap/account</c>: sessions, password, authenticator app, recovery
/// codes and passkeys. Browser sessions only (<see cref="OwnerAuth.SessionOnly"/>); every change is audited.
/// </summary>
public sealed class SecurityHandlers(
    OwnerAccess access,
    AccountService accounts,
    OwnerSessions sessions,
    SecondFactors secondFactors,
    Passkeys passkeys,
    SignInStates states,
    AuditLog audit,
    PublicRateLimiter rateLimiter,
    IOptions<OkapAuthOptions> authOptions,
    IOptions<OkapHttpOptions> httpOptions)
{
    /// <summary>How the signed-in owner signs in: sessions, password, authenticator app, recovery codes, passkeys.</summary>
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<SecurityHandlers>("GET", OkapPaths.AccountSecurity, OkapRouteNames.AccountSecurity, (e, c) => e.SecurityAsync(c)).Returns<SecurityView>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("POST", OkapPaths.AccountPassword, OkapRouteNames.AccountPassword, (e, c) => e.ChangePasswordAsync(c)).Accepts<ChangePasswordBody>().Returns<MessageView>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("DELETE", OkapPaths.AccountSessionById, OkapRouteNames.AccountEndSession, (e, c) => e.EndSessionAsync(c, OkapRoutes.Value(c, "id"))).Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("POST", OkapPaths.AccountSignOutEverywhere, OkapRouteNames.AccountSignOutEverywhere, (e, c) => e.SignOutEverywhereAsync(c)).Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("POST", OkapPaths.AccountTotpSetup, OkapRouteNames.AccountTotpSetup, (e, c) => e.BeginTotpAsync(c)).Accepts<PasswordBody>().Returns<TotpSetupView>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("POST", OkapPaths.AccountTotpConfirm, OkapRouteNames.AccountTotpConfirm, (e, c) => e.ConfirmTotpAsync(c)).Accepts<CodeBody>().Returns<RecoveryCodesView>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("POST", OkapPaths.AccountTotpDisable, OkapRouteNames.AccountTotpDisable, (e, c) => e.DisableTotpAsync(c)).Accepts<PasswordBody>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("POST", OkapPaths.AccountRecoveryCodes, OkapRouteNames.AccountRecoveryCodes, (e, c) => e.RegenerateRecoveryCodesAsync(c)).Accepts<PasswordBody>().Returns<RecoveryCodesView>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("POST", OkapPaths.AccountPasskeyOptions, OkapRouteNames.AccountPasskeyOptions, (e, c) => e.PasskeyOptionsAsync(c)).Accepts<PasswordBody>().Returns<PasskeyOptionsView>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("POST", OkapPaths.AccountPasskeys, OkapRouteNames.AccountAddPasskey, (e, c) => e.AddPasskeyAsync(c)).Accepts<AddPasskeyBody>().Returns<AddedPasskeyView>().Needs(OwnerAuth.SessionOnly),
        OkapRoutes.On<SecurityHandlers>("DELETE", OkapPaths.AccountPasskeyById, OkapRouteNames.AccountRemovePasskey, (e, c) => e.RemovePasskeyAsync(c, OkapRoutes.Value(c, "id"))).Accepts<PasswordBody>().Needs(OwnerAuth.SessionOnly),
    ];

    private readonly int _maxBody = httpOptions.Value.MaxBodyBytes;
    private TimeSpan IdleLimit => authOptions.Value.SessionLifetime;

    /// <summary><c>GET /okap/account/security</c>.</summary>
    public async Task<IResult> SecurityAsync(HttpContext context)
    {
        var (ownerId, error) = await access.RequireOwnerAsync(context);
        if (error is not null) return error;
        var ct = context.RequestAborted;
        var state = await states.ReadAsync(ownerId!, ct);
        var live = await sessions.ListAsync(ownerId!, IdleLimit, authOptions.Value.SessionMaxAge, ct);
        var current = CurrentSession(context);
        var hasPassword = await accounts.HasPasswordAsync(ownerId!, ct);
        return TypedResults.Json(new SecurityView(hasPassword, state.Totp is { Confirmed: true }, state.RecoveryCodeHashes.Count,
            state.Passkeys.Select(p => new PasskeyView(p.Id, p.Name, p.CreatedAt, p.LastUsedAt)).ToArray(),
            live.Select(s => new SessionInfoView(s.Id, s.CreatedAt, s.LastSeenAt, s.Method, s.ClientAddress, s.UserAgent, s.Id == current)).ToArray()),
            AdminJsonContext.Default.SecurityView);
    }

    /// <summary><c>POST /okap/account/password</c>: changes the password and ends every other session.</summary>
    public async Task<IResult> ChangePasswordAsync(HttpContext context)
    {
        var (ownerId, body, error) = await OwnerAndBodyAsync(context, AdminJsonContext.Default.ChangePasswordBody);
        if (error is not null) return error;
        var ct = context.RequestAborted;
        var changed = await accounts.ChangePasswordAsync(ownerId!, body!.CurrentPassword, body.NewPassword, ClientAddress.Of(context), ct);
        if (Refusal(changed) is { } refused) return refused;
        var ended = await sessions.EndAllAsync(ownerId!, CurrentSession(context), ct);
        return Message($"password changed; {ended} other session(s) signed out");
    }

    /// <summary><c>DELETE /okap/account/sessions/{id}</c>: signs one session out (this one too, which clears its cookie).</summary>
    public async Task<IResult> EndSessionAsync(HttpContext context, string sessionId)
    {
        var (ownerId, error) = await access.RequireOwnerAsync(context);
        if (error is not null) return error;
        var ct = context.RequestAborted;
        if (!await sessions.EndAsync(ownerId!, sessionId, ct)) return Errors.NotFound("session");
        await audit.AppendAsync(ownerId!, AuditEvents.SessionEnded, ct, detail: sessionId);
        if (sessionId == CurrentSession(context)) await context.SignOutAsync(OwnerAuth.CookieScheme);
        return TypedResults.NoContent();
    }

    /// <summary><c>POST /okap/account/logout-everywhere</c>: ends every session, this one included.</summary>
    public async Task<IResult> SignOutEverywhereAsync(HttpContext context)
    {
        var (ownerId, error) = await access.RequireOwnerAsync(context);
        if (error is not null) return error;
        var ct = context.RequestAborted;
        var ended = await sessions.EndAllAsync(ownerId!, null, ct);
        await audit.AppendAsync(ownerId!, AuditEvents.SignedOutEverywhere, ct, detail: $"{ended} session(s)");
        await context.SignOutAsync(OwnerAuth.CookieScheme);
        return TypedResults.NoContent();
    }

    /// <summary><c>POST /okap/account/totp/setup</c> with the password: a new authenticator-app secret, on once confirmed.</summary>
    public async Task<IResult> BeginTotpAsync(HttpContext context)
    {
        var (ownerId, account, error) = await OwnerWithPasswordAsync(context);
        if (error is not null) return error;
        var setup = await secondFactors.BeginTotpAsync(ownerId!, account!.UserName, context.RequestAborted);
        if (Refusal(setup) is { } refused) return refused;
        return TypedResults.Json(new TotpSetupView(setup.Value!.Secret, setup.Value.OtpAuthUri), AdminJsonContext.Default.TotpSetupView);
    }

    /// <summary><c>POST /okap/account/totp/confirm</c> with a current code: turns the app on and returns recovery codes.</summary>
    public async Task<IResult> ConfirmTotpAsync(HttpContext context)
    {
        var (ownerId, body, error) = await OwnerAndBodyAsync(context, AdminJsonContext.Default.CodeBody);
        if (error is not null) return error;
        var confirmed = await secondFactors.ConfirmTotpAsync(ownerId!, body!.Code, context.RequestAborted);
        if (Refusal(confirmed) is { } refused) return refused;
        await audit.AppendAsync(ownerId!, AuditEvents.TotpEnabled, context.RequestAborted);
        return Codes(confirmed.Value!);
    }

    /// <summary><c>POST /okap/account/totp/disable</c> with the password.</summary>
    public async Task<IResult> DisableTotpAsync(HttpContext context)
    {
        var (ownerId, _, error) = await OwnerWithPasswordAsync(context);
        if (error is not null) return error;
        if (!await secondFactors.DisableTotpAsync(ownerId!, context.RequestAborted)) return Errors.Conflict("the authenticator app is not on");
        await audit.AppendAsync(ownerId!, AuditEvents.TotpDisabled, context.RequestAborted);
        return TypedResults.NoContent();
    }

    /// <summary><c>POST /okap/account/recovery-codes</c> with the password: new recovery codes; the old stop working.</summary>
    public async Task<IResult> RegenerateRecoveryCodesAsync(HttpContext context)
    {
        var (ownerId, _, error) = await OwnerWithPasswordAsync(context);
        if (error is not null) return error;
        var codes = await secondFactors.RegenerateRecoveryCodesAsync(ownerId!, context.RequestAborted);
        if (Refusal(codes) is { } refused) return refused;
        await audit.AppendAsync(ownerId!, AuditEvents.RecoveryCodesGenerated, context.RequestAborted);
        return Codes(codes.Value!);
    }

    /// <summary><c>POST /okap/account/passkeys/options</c> with the password: starts registering a passkey for this host name.</summary>
    public async Task<IResult> PasskeyOptionsAsync(HttpContext context)
    {
        var (ownerId, _, error) = await OwnerWithPasswordAsync(context);
        if (error is not null) return error;
        var owner = await accounts.GetOwnerAsync(ownerId!, context.RequestAborted);
        var ceremony = await passkeys.BeginRegistrationAsync(ownerId!, owner!.Slug, owner.DisplayName, AccountHandlers.RelyingPartyOf(context), context.RequestAborted);
        return AccountHandlers.OptionsReply(ceremony);
    }

    /// <summary><c>POST /okap/account/passkeys</c>: registers the browser's new passkey.</summary>
    public async Task<IResult> AddPasskeyAsync(HttpContext context)
    {
        var (ownerId, body, error) = await OwnerAndBodyAsync(context, AdminJsonContext.Default.AddPasskeyBody);
        if (error is not null) return error;
        var ct = context.RequestAborted;
        var added = await passkeys.CompleteRegistrationAsync(ownerId!, body!.State, body.Name, body.Credential, AccountHandlers.RelyingPartyOf(context), ct);
        if (Refusal(added) is { } refused) return refused;
        var passkey = added.Value!;
        await audit.AppendAsync(ownerId!, AuditEvents.PasskeyAdded, ct, detail: $"{passkey.Id} ({passkey.Name})");
        // The first second factor comes with recovery codes, as the authenticator app's does.
        IReadOnlyList<string>? codes = null;
        if ((await states.ReadAsync(ownerId!, ct)).RecoveryCodeHashes.Count == 0)
        {
            codes = (await secondFactors.RegenerateRecoveryCodesAsync(ownerId!, ct)).Value;
            if (codes is not null) await audit.AppendAsync(ownerId!, AuditEvents.RecoveryCodesGenerated, ct);
        }
        return TypedResults.Json(new AddedPasskeyView(new PasskeyView(passkey.Id, passkey.Name, passkey.CreatedAt, passkey.LastUsedAt), codes),
            AdminJsonContext.Default.AddedPasskeyView, statusCode: StatusCodes.Status201Created);
    }

    /// <summary><c>DELETE /okap/account/passkeys/{id}</c>.</summary>
    public async Task<IResult> RemovePasskeyAsync(HttpContext context, string passkeyId)
    {
        // With the password, as turning off the authenticator app: a stolen session alone cannot strip the account's factors.
        var (ownerId, _, error) = await OwnerWithPasswordAsync(context);
        if (error is not null) return error;
        if (!await passkeys.RemoveAsync(ownerId!, passkeyId, context.RequestAborted)) return Errors.NotFound("passkey");
        await audit.AppendAsync(ownerId!, AuditEvents.PasskeyRemoved, context.RequestAborted, detail: passkeyId);
        return TypedResults.NoContent();
    }

    private static string? CurrentSession(HttpContext context) => context.User.FindFirstValue(OwnerAuth.SessionIdClaim);

    private async Task<(string? OwnerId, T? Body, IResult? Error)> OwnerAndBodyAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
        where T : class
    {
        var (ownerId, error) = await access.RequireOwnerAsync(context);
        if (error is not null) return (null, null, error);
        var (body, invalid) = await BoundedJson.ReadAsync(context.Request, info, _maxBody, context.RequestAborted);
        return invalid is not null ? (null, null, invalid) : (ownerId, body, null);
    }

    private async Task<(string? OwnerId, LocalAccount? Account, IResult? Error)> OwnerWithPasswordAsync(HttpContext context)
    {
        // The same per-instance ceiling as sign-in: the shared per-address count is checked before each try, so a burst
        // of parallel guesses would otherwise all pass that check at once.
        if (rateLimiter.TryAcquire(context) is { } limited) return (null, null, limited);
        var (ownerId, body, error) = await OwnerAndBodyAsync(context, AdminJsonContext.Default.PasswordBody);
        if (error is not null) return (null, null, error);
        var confirmed = await accounts.ConfirmPasswordAsync(ownerId!, body!.Password, ClientAddress.Of(context), "password", context.RequestAborted);
        return Refusal(confirmed) is { } refused ? (null, null, refused) : (ownerId, confirmed.Value, null);
    }

    private static IResult? Refusal<T>(Result<T> result) => result.Outcome switch
    {
        Outcome.Ok => null,
        Outcome.Invalid => Errors.Invalid(result.Error!),
        Outcome.Conflict => Errors.Conflict(result.Message!),
        _ => Errors.NotFound(),
    };

    private static IResult Message(string text) => TypedResults.Json(new MessageView(text), AdminJsonContext.Default.MessageView);

    private static IResult Codes(IReadOnlyList<string> codes) => TypedResults.Json(new RecoveryCodesView(codes), AdminJsonContext.Default.RecoveryCodesView);
}
