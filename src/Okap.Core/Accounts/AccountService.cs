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
    Failed,
    LockedOut,
}

/// <summary>Local accounts (self-hosted), external sign-ins (App Service Authentication), the one-time setup link.</summary>
public sealed partial class AccountService(IOwnerStore owners, AuditLog audit, TimeProvider time)
{
    public const int MaxFailedAttempts = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    private static readonly PasswordHasher<LocalAccount> Hasher = new();
    private readonly Lock _setupLock = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _signInGates = new(StringComparer.Ordinal);
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

    /// <summary>Checks a password with lockout after <see cref="MaxFailedAttempts"/> failures.</summary>
    public async Task<(SignInOutcome Outcome, string? OwnerId)> SignInAsync(string? userName, string? password, string? clientAddress, CancellationToken ct)
    {
        var normalised = userName?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(normalised) || string.IsNullOrEmpty(password) || password.Length > 256) return (SignInOutcome.Failed, null);
        // Attempts on one account are checked one at a time, so parallel guesses cannot all start from the same failure
        // count and slip past the lockout (the count is read, then written).
        var gate = _signInGates.GetOrAdd(normalised, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            return await SignInOnceAsync(normalised, password, clientAddress, ct);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<(SignInOutcome Outcome, string? OwnerId)> SignInOnceAsync(string normalised, string password, string? clientAddress, CancellationToken ct)
    {
        var account = await owners.FindAccountAsync(normalised, ct);
        var now = time.GetUtcNow();
        if (account is null)
        {
            // Same work as a real check, so response time does not reveal which user names exist.
            Hasher.VerifyHashedPassword(new LocalAccount { OwnerId = "", UserName = "", PasswordHash = "" }, DummyHash, password);
            return (SignInOutcome.Failed, null);
        }
        if (account.LockedUntil is { } until && until > now) return (SignInOutcome.LockedOut, null);

        var verdict = Hasher.VerifyHashedPassword(account, account.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            var after = await owners.RecordFailedSignInAsync(normalised, MaxFailedAttempts, now + LockoutDuration, ct);
            var locked = after?.LockedUntil is { } lockedUntil && lockedUntil > now;
            await audit.AppendAsync(account.OwnerId, AuditEvents.SignInFailed, ct, clientAddress: clientAddress, detail: locked ? "locked out" : null);
            return (locked ? SignInOutcome.LockedOut : SignInOutcome.Failed, null);
        }
        var updated = account with { FailedAttempts = 0, LockedUntil = null };
        if (verdict == PasswordVerificationResult.SuccessRehashNeeded) updated = updated with { PasswordHash = Hasher.HashPassword(account, password) };
        if (updated != account) await owners.UpdateAccountAsync(updated, ct);
        await audit.AppendAsync(account.OwnerId, AuditEvents.SignIn, ct, clientAddress: clientAddress);
        return (SignInOutcome.Succeeded, account.OwnerId);
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
