using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Okap.Core.Audit;

namespace Okap.Core.Accounts;

/// <summary>Outcome of a password sign-in.</summary>
public enum SignInOutcome
{
    Succeeded,
    /// <summary>Wrong user name or password (which of the two is never said).</summary>
    Failed,
    /// <summary>Too many failures from this address; nothing was checked.</summary>
    Throttled,
    /// <summary>The password was right and the account has a second factor: send a code, or use a passkey.</summary>
    SecondFactorRequired,
    /// <summary>The password was right and the code was wrong or already used.</summary>
    SecondFactorFailed,
}

/// <summary>What a sign-in attempt came to; <see cref="RetryAfter"/> is set when throttled.</summary>
public sealed record SignInAttempt(SignInOutcome Outcome, string? OwnerId = null, TimeSpan? RetryAfter = null, bool TotpEnabled = false);

/// <summary>Local accounts (self-hosted), external sign-ins (App Service Authentication), the one-time setup link.</summary>
public sealed partial class AccountService(IOwnerStore owners, AuditLog audit, SignIn.SignInThrottle throttle, SignIn.SecondFactors secondFactors,
    SignIn.SignInStates signInStates, TimeProvider time)
{
    private static readonly PasswordHasher<LocalAccount> Hasher = new();
    private readonly Lock _setupLock = new();
    private string? _setupTokenHash;

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")]
    private static partial Regex SlugPattern();

    /// <summary>
    /// A one-time setup secret for creating the first account, or null when an account exists.
    /// Only its hash is kept; a new call replaces the previous secret.
    /// </summary>
    public async Task<string?> IssueSetupTokenAsync(CancellationToken ct)
    {
        if (await owners.CountOwnersAsync(ct) > 0) return null;
        var token = Secrets.NewId("setup");
        lock (_setupLock) _setupTokenHash = Secrets.Hash(token);
        return token;
    }

    /// <summary>Creates the first account with the setup secret (which then stops working), or any account when <paramref name="openRegistration"/> is on.</summary>
    public async Task<Result<Owner>> CreateAccountAsync(string? setupToken, string? userName, string? password, bool openRegistration, CancellationToken ct)
    {
        var useSetupToken = !openRegistration || setupToken is not null;
        if (useSetupToken && !SetupTokenMatches(setupToken)) return Result<Owner>.Invalid("setup_token", "the setup link is invalid or was already used");
        var normalised = userName?.Trim().ToLowerInvariant();
        if (normalised is null || !SlugPattern().IsMatch(normalised))
        {
            return Result<Owner>.Invalid("user_name", "user name: 1 to 32 lower-case letters, digits or inner hyphens (it becomes your vault address)");
        }
        if (PasswordPolicy.Check(password, normalised) is { } weak) return Result<Owner>.Invalid("password", weak);
        if (await owners.FindAccountAsync(normalised, ct) is not null || await owners.FindOwnerBySlugAsync(normalised, ct) is not null)
        {
            return Result<Owner>.Conflict("that user name is taken");
        }
        // Spent only now, so a typo in the form does not burn the one-time link.
        if (useSetupToken && !ConsumeSetupToken(setupToken)) return Result<Owner>.Invalid("setup_token", "the setup link is invalid or was already used");
        var owner = new Owner(Secrets.NewId("own"), normalised, userName!.Trim(), time.GetUtcNow());
        var account = new LocalAccount { OwnerId = owner.Id, UserName = normalised, PasswordHash = "" };
        account = account with { PasswordHash = Hasher.HashPassword(account, password!) };
        await owners.CreateOwnerAsync(owner, account, ct);
        await audit.AppendAsync(owner.Id, AuditEvents.AccountCreated, ct, detail: normalised);
        return Result<Owner>.Ok(owner);
    }

    /// <summary>
    /// Checks a password and, when the account has one, the second factor (an authenticator-app code or a recovery
    /// code). Failures are counted per address (<see cref="SignIn.SignInThrottle"/>) whether or not the name exists.
    /// </summary>
    public async Task<SignInAttempt> SignInAsync(string? userName, string? password, string? totpCode, string? recoveryCode, string? clientAddress, CancellationToken ct)
    {
        if (await throttle.WaitAsync(clientAddress, ct) is { } wait) return new SignInAttempt(SignInOutcome.Throttled, RetryAfter: wait);
        var normalised = userName?.Trim().ToLowerInvariant();
        var account = string.IsNullOrEmpty(normalised) ? null : await owners.FindAccountAsync(normalised, ct);
        if (!PasswordMatches(account, password, out var rehash))
        {
            await throttle.RecordFailureAsync(clientAddress, ct);
            if (account is not null) await audit.AppendAsync(account.OwnerId, AuditEvents.SignInFailed, ct, clientAddress: clientAddress);
            return new SignInAttempt(SignInOutcome.Failed);
        }
        var state = await signInStates.ReadAsync(account!.OwnerId, ct);
        var factor = await secondFactors.VerifyAsync(account.OwnerId, totpCode, recoveryCode, ct);
        if (factor == SignIn.SecondFactorOutcome.Missing) return new SignInAttempt(SignInOutcome.SecondFactorRequired, TotpEnabled: state.Totp is { Confirmed: true });
        if (factor == SignIn.SecondFactorOutcome.Locked)
        {
            await audit.AppendAsync(account.OwnerId, AuditEvents.SignInFailed, ct, clientAddress: clientAddress, detail: "second-factor codes refused after too many wrong ones");
            // From the state read above (no second store read); read before the failure that locked it, it says a whole window.
            var locked = state.CodesLockedFor(time.GetUtcNow()) ?? SignIn.SignInState.CodeFailureWindow;
            return new SignInAttempt(SignInOutcome.Throttled, RetryAfter: locked);
        }
        if (factor == SignIn.SecondFactorOutcome.Wrong)
        {
            await throttle.RecordFailureAsync(clientAddress, ct);
            await audit.AppendAsync(account.OwnerId, AuditEvents.SignInFailed, ct, clientAddress: clientAddress, detail: "wrong or used second-factor code");
            return new SignInAttempt(SignInOutcome.SecondFactorFailed, TotpEnabled: state.Totp is { Confirmed: true });
        }
        if (rehash) await owners.UpdateAccountAsync(account with { PasswordHash = Hasher.HashPassword(account, password!) }, ct);
        var how = !state.HasSecondFactor ? null : string.IsNullOrWhiteSpace(recoveryCode) ? "password + authenticator app" : "password + recovery code";
        await audit.AppendAsync(account.OwnerId, AuditEvents.SignIn, ct, clientAddress: clientAddress, detail: how);
        return new SignInAttempt(SignInOutcome.Succeeded, account.OwnerId);
    }

    /// <summary>Counts a failed sign-in of another kind (a passkey that did not verify) against the address.</summary>
    public Task RecordFailedSignInAsync(string? clientAddress, CancellationToken ct) => throttle.RecordFailureAsync(clientAddress, ct);

    /// <summary>How long the address must wait before its next sign-in attempt, or null.</summary>
    public Task<TimeSpan?> SignInWaitAsync(string? clientAddress, CancellationToken ct) => throttle.WaitAsync(clientAddress, ct);

    /// <summary>
    /// Checks the signed-in owner's password again before a sensitive change (second factors, password). A wrong one
    /// counts against the address like a failed sign-in, so a stolen session cannot guess it quickly either.
    /// </summary>
    public async Task<Result<LocalAccount>> ConfirmPasswordAsync(string ownerId, string? password, string? clientAddress, string field, CancellationToken ct)
    {
        var account = await AccountOfAsync(ownerId, ct);
        if (account is null) return Result<LocalAccount>.Conflict("this account signs in through the platform; it has no password here");
        if (await throttle.WaitAsync(clientAddress, ct) is not null) return Result<LocalAccount>.Invalid(field, "too many wrong passwords from this address; wait a few minutes");
        if (!PasswordMatches(account, password, out _))
        {
            await throttle.RecordFailureAsync(clientAddress, ct);
            return Result<LocalAccount>.Invalid(field, "wrong password");
        }
        return Result<LocalAccount>.Ok(account);
    }

    /// <summary>Sets a new password (checked by <see cref="PasswordPolicy"/>) after checking the current one.</summary>
    public async Task<Result<LocalAccount>> ChangePasswordAsync(string ownerId, string? currentPassword, string? newPassword, string? clientAddress, CancellationToken ct)
    {
        var confirmed = await ConfirmPasswordAsync(ownerId, currentPassword, clientAddress, "current_password", ct);
        if (confirmed.Outcome != Outcome.Ok) return confirmed;
        var account = confirmed.Value!;
        if (PasswordPolicy.Check(newPassword, account.UserName) is { } weak) return Result<LocalAccount>.Invalid("new_password", weak);
        if (newPassword == currentPassword) return Result<LocalAccount>.Invalid("new_password", "choose a password different from the current one");
        var updated = account with { PasswordHash = Hasher.HashPassword(account, newPassword!) };
        await owners.UpdateAccountAsync(updated, ct);
        await audit.AppendAsync(ownerId, AuditEvents.PasswordChanged, ct, clientAddress: clientAddress);
        return Result<LocalAccount>.Ok(updated);
    }

    /// <summary>True for a local account; false for one that signs in through the platform.</summary>
    public async Task<bool> HasPasswordAsync(string ownerId, CancellationToken ct) => await AccountOfAsync(ownerId, ct) is not null;

    private async Task<LocalAccount?> AccountOfAsync(string ownerId, CancellationToken ct)
    {
        // A local account's user name is its owner's slug (set together at creation, never changed).
        var owner = await owners.GetOwnerAsync(ownerId, ct);
        var account = owner is null ? null : await owners.FindAccountAsync(owner.Slug, ct);
        return account?.OwnerId == ownerId ? account : null;
    }

    private static bool PasswordMatches(LocalAccount? account, string? password, out bool rehash)
    {
        rehash = false;
        if (string.IsNullOrEmpty(password) || password.Length > 256) return false;
        if (account is null)
        {
            // Same work as a real check, so response time does not reveal which user names exist.
            Hasher.VerifyHashedPassword(new LocalAccount { OwnerId = "", UserName = "", PasswordHash = "" }, DummyHash, password);
            return false;
        }
        var verdict = Hasher.VerifyHashedPassword(account, account.PasswordHash, password);
        rehash = verdict == PasswordVerificationResult.SuccessRehashNeeded;
        return verdict != PasswordVerificationResult.Failed;
    }

    /// <summary>The owner linked to an external identity, created on first sign-in.</summary>
    public async Task<string> ResolveExternalAsync(string issuer, string subject, string? displayName, CancellationToken ct)
    {
        var existing = await owners.FindExternalLoginAsync(issuer, subject, ct);
        if (existing is not null) return existing;
        var slug = await FreeSlugAsync(displayName, ct);
        var owner = new Owner(Secrets.NewId("own"), slug, string.IsNullOrWhiteSpace(displayName) ? slug : displayName.Trim(), time.GetUtcNow());
        if (await owners.CreateOwnerWithExternalLoginAsync(owner, new ExternalLogin(issuer, subject, owner.Id), ct))
        {
            await audit.AppendAsync(owner.Id, AuditEvents.AccountCreated, ct, detail: "external");
            return owner.Id;
        }
        return await owners.FindExternalLoginAsync(issuer, subject, ct) ?? throw new InvalidOperationException("external login vanished after a concurrent create");
    }

    public Task<Owner?> GetOwnerAsync(string ownerId, CancellationToken ct) => owners.GetOwnerAsync(ownerId, ct);

    private bool SetupTokenMatches(string? token)
    {
        if (string.IsNullOrEmpty(token)) return false;
        lock (_setupLock)
        {
            return _setupTokenHash is not null
                && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(_setupTokenHash), Encoding.ASCII.GetBytes(Secrets.Hash(token)));
        }
    }

    private bool ConsumeSetupToken(string? token)
    {
        if (string.IsNullOrEmpty(token)) return false;
        lock (_setupLock)
        {
            if (_setupTokenHash is null) return false;
            var ok = CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(_setupTokenHash), Encoding.ASCII.GetBytes(Secrets.Hash(token)));
            if (ok) _setupTokenHash = null;
            return ok;
        }
    }

    private async Task<string> FreeSlugAsync(string? displayName, CancellationToken ct)
    {
        var baseSlug = new string((displayName ?? "").ToLowerInvariant().Split('@')[0].Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        if (baseSlug.Length > 24) baseSlug = baseSlug[..24].Trim('-');
        if (baseSlug.Length == 0) baseSlug = "owner";
        var slug = baseSlug;
        for (var i = 0; await owners.FindOwnerBySlugAsync(slug, ct) is not null; i++)
        {
            slug = $"{baseSlug}-{RandomNumberGenerator.GetInt32(1000, 9999)}";
            if (i > 20) slug = Secrets.NewId("o").ToLowerInvariant().Replace('_', '-');
        }
        return slug;
    }

    private static readonly string DummyHash = Hasher.HashPassword(new LocalAccount { OwnerId = "", UserName = "", PasswordHash = "" }, "not-a-password-" + Guid.NewGuid());
}
