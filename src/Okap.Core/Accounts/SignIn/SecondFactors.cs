using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using OtpNet;

namespace Okap.Core.Accounts.SignIn;

/// <summary>What a second-factor check found.</summary>
public enum SecondFactorOutcome
{
    /// <summary>The owner has no second factor, or the code was right (a recovery code is now spent).</summary>
    Passed,
    /// <summary>A second factor is enrolled and no code came.</summary>
    Missing,
    Wrong,
    /// <summary>Too many wrong codes for this owner lately: no code is checked until the window ends.</summary>
    Locked,
}

/// <summary>A new authenticator-app secret, shown once: as text and as an <c>otpauth://</c> URI for a QR code.</summary>
public sealed record TotpSetup(string Secret, string OtpAuthUri);

/// <summary>
/// The authenticator app (TOTP: RFC 6238, SHA-1, 6 digits, 30 s, one step of clock drift either way, each step
/// accepted once) and one-time recovery codes. Secrets are kept protected with Data Protection, codes only hashed.
/// </summary>
public sealed class SecondFactors(SignInStates states, IDataProtectionProvider protection, TimeProvider time)
{
    public const int RecoveryCodeCount = 10;
    private const string Issuer = "OKAP Vault";
    private readonly IDataProtector _protector = protection.CreateProtector("Okap.SignIn.Totp.v1");

    /// <summary>Starts enrolment with a new secret; it counts only once <see cref="ConfirmTotpAsync"/> sees a code from it.</summary>
    public async Task<Result<TotpSetup>> BeginTotpAsync(string ownerId, string userName, CancellationToken ct)
    {
        var secret = KeyGeneration.GenerateRandomKey(20);
        var enrolment = new TotpEnrolment(_protector.Protect(Convert.ToBase64String(secret)), Confirmed: false, LastUsedStep: 0, time.GetUtcNow());
        var started = await states.UpdateAsync(ownerId, state => state.Totp is { Confirmed: true }
            ? (null, false)
            : (state with { Totp = enrolment }, true), ct);
        if (!started) return Result<TotpSetup>.Conflict("an authenticator app is already set up; turn it off first to set up another");
        var text = Base32Encoding.ToString(secret).TrimEnd('=');
        var label = Uri.EscapeDataString(Issuer) + ":" + Uri.EscapeDataString(userName);
        return Result<TotpSetup>.Ok(new TotpSetup(text,
            $"otpauth://totp/{label}?secret={text}&issuer={Uri.EscapeDataString(Issuer)}&algorithm=SHA1&digits=6&period=30"));
    }

    /// <summary>Turns the pending secret on when <paramref name="code"/> matches it; returns fresh recovery codes.</summary>
    public async Task<Result<IReadOnlyList<string>>> ConfirmTotpAsync(string ownerId, string? code, CancellationToken ct)
    {
        var codes = NewRecoveryCodes();
        var outcome = await states.UpdateAsync(ownerId, state =>
        {
            if (state.Totp is not { Confirmed: false } pending) return (null, state.Totp is null ? "none" : "on");
            if (MatchStep(pending, code) is not { } step) return (null, "wrong");
            return (state with { Totp = pending with { Confirmed = true, LastUsedStep = step }, RecoveryCodeHashes = codes.Select(HashCode).ToArray() }, "ok");
        }, ct);
        return outcome switch
        {
            "ok" => Result<IReadOnlyList<string>>.Ok(codes),
            "none" => Result<IReadOnlyList<string>>.Conflict("start setting up the authenticator app first"),
            "on" => Result<IReadOnlyList<string>>.Conflict("the authenticator app is already on"),
            _ => Result<IReadOnlyList<string>>.Invalid("code", "that code does not match; check the app's clock and try the current code"),
        };
    }

    /// <summary>Turns the authenticator app off; with no passkey left, the recovery codes go too. False when it was off.</summary>
    public Task<bool> DisableTotpAsync(string ownerId, CancellationToken ct) =>
        states.UpdateAsync(ownerId, state => state.Totp is null
            ? (null, false)
            : (state with { Totp = null, RecoveryCodeHashes = state.Passkeys.Count > 0 ? state.RecoveryCodeHashes : [] }, true), ct);

    /// <summary>Replaces the recovery codes with new ones (the old stop working); refused without a second factor.</summary>
    public async Task<Result<IReadOnlyList<string>>> RegenerateRecoveryCodesAsync(string ownerId, CancellationToken ct)
    {
        var codes = NewRecoveryCodes();
        var done = await states.UpdateAsync(ownerId, state => state.HasSecondFactor
            ? (state with { RecoveryCodeHashes = codes.Select(HashCode).ToArray() }, true)
            : (null, false), ct);
        return done ? Result<IReadOnlyList<string>>.Ok(codes) : Result<IReadOnlyList<string>>.Conflict("set up an authenticator app or a passkey first");
    }

    /// <summary>
    /// Checks the second factor of a password sign-in: a TOTP code (each time step once) or a recovery code (spent).
    /// Both checks and the spending are one compare-and-swap, so one code cannot sign in twice in parallel.
    /// </summary>
    public Task<SecondFactorOutcome> VerifyAsync(string ownerId, string? totpCode, string? recoveryCode, CancellationToken ct) =>
        states.UpdateAsync(ownerId, state =>
        {
            if (!state.HasSecondFactor) return (null, SecondFactorOutcome.Passed);
            var now = time.GetUtcNow();
            if (string.IsNullOrWhiteSpace(recoveryCode) && string.IsNullOrWhiteSpace(totpCode)) return (null, SecondFactorOutcome.Missing);
            if (state.CodesLockedFor(now) is not null) return (null, SecondFactorOutcome.Locked);
            // A failure is written in the same compare-and-swap as the check, so parallel guesses on any instance all count.
            var failed = state.WithCodeFailure(now);
            if (!string.IsNullOrWhiteSpace(recoveryCode))
            {
                var hash = HashCode(recoveryCode);
                if (!state.RecoveryCodeHashes.Contains(hash, StringComparer.Ordinal)) return (failed, SecondFactorOutcome.Wrong);
                return (state with { RecoveryCodeHashes = state.RecoveryCodeHashes.Where(h => h != hash).ToArray(), CodeFailures = null }, SecondFactorOutcome.Passed);
            }
            if (state.Totp is not { Confirmed: true } totp || MatchStep(totp, totpCode) is not { } step || step <= totp.LastUsedStep)
            {
                return (failed, SecondFactorOutcome.Wrong);
            }
            return (state with { Totp = totp with { LastUsedStep = step }, CodeFailures = null }, SecondFactorOutcome.Passed);
        }, ct);

    private long? MatchStep(TotpEnrolment enrolment, string? code)
    {
        var digits = code?.Replace(" ", "", StringComparison.Ordinal).Trim();
        if (digits is not { Length: 6 } || !digits.All(char.IsAsciiDigit)) return null;
        byte[] secret;
        try
        {
            secret = Convert.FromBase64String(_protector.Unprotect(enrolment.ProtectedSecret));
        }
        catch (CryptographicException e)
        {
            throw new VaultUnavailableException("the authenticator-app secret cannot be read: the Data Protection key ring is missing its key", e);
        }
        var totp = new Totp(secret);
        return totp.VerifyTotp(time.GetUtcNow().UtcDateTime, digits, out var step, new VerificationWindow(previous: 1, future: 1)) ? step : null;
    }

    // 60 random bits each, in a form that survives being read out or written down: xxxx-xxxx-xxxx.
    private static string[] NewRecoveryCodes() => Enumerable.Range(0, RecoveryCodeCount).Select(_ =>
    {
        var text = Base32Encoding.ToString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant()[..12];
        return $"{text[..4]}-{text[4..8]}-{text[8..]}";
    }).ToArray();

    private static string HashCode(string code) =>
        Secrets.Hash(new string(code.Where(char.IsAsciiLetterOrDigit).Select(char.ToLowerInvariant).ToArray()));
}
