using System.Text.Json.Serialization;

namespace Okap.Core.Accounts.SignIn;

/// <summary>
/// Everything about how one owner signs in, besides the password: live sessions, the authenticator app, recovery codes
/// and passkeys. Kept as one versioned document per owner so every change is one compare-and-swap, on any instance.
/// </summary>
public sealed record SignInState
{
    /// <summary>The most sessions kept; signing in once more ends the least recently used.</summary>
    public const int MaxSessions = 20;
    /// <summary>The most passkeys an owner may register.</summary>
    public const int MaxPasskeys = 10;
    /// <summary>Wrong authenticator or recovery codes (after the right password) before codes are refused for a while.</summary>
    public const int MaxCodeFailures = 5;
    /// <summary>How long those failures count, and how long codes are then refused.</summary>
    public static readonly TimeSpan CodeFailureWindow = TimeSpan.FromMinutes(15);

    public static SignInState Empty { get; } = new();

    public IReadOnlyList<OwnerSession> Sessions { get; init; } = [];
    public TotpEnrolment? Totp { get; init; }
    /// <summary>SHA-256 hashes of the unused recovery codes.</summary>
    public IReadOnlyList<string> RecoveryCodeHashes { get; init; } = [];
    public IReadOnlyList<Passkey> Passkeys { get; init; } = [];
    /// <summary>WebAuthn challenges already answered, kept until their ceremony would have expired anyway (no replay).</summary>
    public IReadOnlyList<UsedChallenge> UsedChallenges { get; init; } = [];
    /// <summary>
    /// Wrong codes sent with the right password, counted per owner (not per address, which an attacker holding the
    /// password could spread over many): past <see cref="MaxCodeFailures"/> codes are refused until the window ends.
    /// </summary>
    public CodeFailures? CodeFailures { get; init; }

    /// <summary>How long codes are still refused at <paramref name="now"/>, or null when they may be tried.</summary>
    public TimeSpan? CodesLockedFor(DateTimeOffset now) =>
        FailuresInWindow(now) is { Count: >= MaxCodeFailures } f ? f.WindowStart + CodeFailureWindow - now : null;

    /// <summary>This state with one more wrong code counted at <paramref name="now"/> (a new window once the last one has ended).</summary>
    public SignInState WithCodeFailure(DateTimeOffset now) =>
        this with { CodeFailures = FailuresInWindow(now) is { } f ? f with { Count = f.Count + 1 } : new CodeFailures(1, now) };

    private CodeFailures? FailuresInWindow(DateTimeOffset now) =>
        CodeFailures is { } f && f.WindowStart + CodeFailureWindow > now ? f : null;

    /// <summary>True when a password alone no longer signs in.</summary>
    [JsonIgnore]
    public bool HasSecondFactor => Totp is { Confirmed: true } || Passkeys.Count > 0;
}

/// <summary>A signed-in browser session. Its id is in the cookie; the cookie works only while this record exists.</summary>
public sealed record OwnerSession(string Id, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, string Method, string? ClientAddress, string? UserAgent);

/// <summary>An authenticator-app (TOTP, RFC 6238) secret, protected with Data Protection, and the last time step used.</summary>
public sealed record TotpEnrolment(string ProtectedSecret, bool Confirmed, long LastUsedStep, DateTimeOffset CreatedAt);

/// <summary>A registered WebAuthn credential (discoverable, user verification required).</summary>
public sealed record Passkey(string Id, string Name, string CredentialId, string PublicKey, uint SignCount, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

public sealed record UsedChallenge(string Hash, DateTimeOffset ExpiresAt);

/// <summary>Wrong second-factor codes since <paramref name="WindowStart"/>.</summary>
public sealed record CodeFailures(int Count, DateTimeOffset WindowStart);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SignInState))]
[JsonSerializable(typeof(CeremonyState))]
internal sealed partial class SignInJsonContext : JsonSerializerContext;
