using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Fido2NetLib;
using Fido2NetLib.Objects;
using Microsoft.AspNetCore.DataProtection;

namespace Okap.Core.Accounts.SignIn;

/// <summary>
/// A WebAuthn ceremony in flight, handed to the browser protected and time-limited and handed back with its answer,
/// so any instance can finish what another began.
/// </summary>
internal sealed record CeremonyState(string Kind, string? OwnerId, string Options, DateTimeOffset ExpiresAt);

/// <summary>The browser's answers, read with the library's own converters (base64url bytes) through source generation.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(AuthenticatorAttestationRawResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(AuthenticatorAssertionRawResponse))]
internal sealed partial class WebAuthnJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>Where the page is served: WebAuthn binds a passkey to this host name (the relying party id) and origin.</summary>
public sealed record RelyingParty(string Id, string Origin);

/// <summary>Options for the browser's <c>navigator.credentials</c> call (JSON), and the state to send back with its answer.</summary>
public sealed record PasskeyCeremony(string OptionsJson, string State);

/// <summary>
/// Passkeys (WebAuthn, with Fido2): registration by a signed-in owner, and sign-in with a discoverable credential whose
/// user handle is the owner id. User verification is required, so a passkey is a whole sign-in on its own.
/// </summary>
public sealed class Passkeys(SignInStates states, IDataProtectionProvider protection, TimeProvider time)
{
    public static readonly TimeSpan CeremonyLifetime = TimeSpan.FromMinutes(5);
    private const string Register = "register";
    private const string Login = "login";
    private readonly IDataProtector _protector = protection.CreateProtector("Okap.SignIn.Passkey.v1");

    public async Task<PasskeyCeremony> BeginRegistrationAsync(string ownerId, string userName, string displayName, RelyingParty rp, CancellationToken ct)
    {
        var state = await states.ReadAsync(ownerId, ct);
        var options = Fido(rp).RequestNewCredential(new RequestNewCredentialParams
        {
            User = new Fido2User { Id = Encoding.UTF8.GetBytes(ownerId), Name = userName, DisplayName = displayName },
            ExcludeCredentials = state.Passkeys.Select(p => new PublicKeyCredentialDescriptor(System.Buffers.Text.Base64Url.DecodeFromChars(p.CredentialId))).ToArray(),
            AuthenticatorSelection = new AuthenticatorSelection
            {
                ResidentKey = ResidentKeyRequirement.Required,
                UserVerification = UserVerificationRequirement.Required,
            },
            AttestationPreference = AttestationConveyancePreference.None,
        });
        var json = options.ToJson();
        return new PasskeyCeremony(json, Protect(new CeremonyState(Register, ownerId, json, time.GetUtcNow() + CeremonyLifetime)));
    }

    public async Task<Result<Passkey>> CompleteRegistrationAsync(string ownerId, string? stateText, string? name, JsonElement? credential, RelyingParty rp, CancellationToken ct)
    {
        var label = string.IsNullOrWhiteSpace(name) ? "Passkey" : name.Trim();
        if (label.Length > 64) return Result<Passkey>.Invalid("name", "at most 64 characters");
        if (Unprotect(stateText, Register) is not { } ceremony || ceremony.OwnerId != ownerId) return Result<Passkey>.Invalid("state", "the passkey request expired or is not yours; start again");
        if (Parse(credential, WebAuthnJsonContext.Default.AuthenticatorAttestationRawResponse) is not { } response) return Result<Passkey>.Invalid("credential", "not a WebAuthn attestation response");
        var options = CredentialCreateOptions.FromJson(ceremony.Options);
        var existing = await states.ReadAsync(ownerId, ct);
        RegisteredPublicKeyCredential made;
        try
        {
            made = await Fido(rp).MakeNewCredentialAsync(new MakeNewCredentialParams
            {
                AttestationResponse = response,
                OriginalOptions = options,
                IsCredentialIdUniqueToUserCallback = (args, _) =>
                    Task.FromResult(!existing.Passkeys.Any(p => p.CredentialId == System.Buffers.Text.Base64Url.EncodeToString(args.CredentialId))),
            }, ct);
        }
        catch (Fido2VerificationException e)
        {
            return Result<Passkey>.Invalid("credential", "the passkey could not be verified: " + e.Message);
        }
        var now = time.GetUtcNow();
        var passkey = new Passkey(Secrets.NewId("pky"), label, System.Buffers.Text.Base64Url.EncodeToString(made.Id), Convert.ToBase64String(made.PublicKey), made.SignCount, now, null);
        var challenge = ChallengeHash(options.Challenge);
        var outcome = await states.UpdateAsync(ownerId, state =>
        {
            if (state.UsedChallenges.Any(c => c.Hash == challenge)) return (null, "replayed");
            if (state.Passkeys.Count >= SignInState.MaxPasskeys) return (null, "full");
            if (state.Passkeys.Any(p => p.CredentialId == passkey.CredentialId)) return (null, "duplicate");
            return (state with { Passkeys = [.. state.Passkeys, passkey], UsedChallenges = Spend(state, challenge, ceremony.ExpiresAt, now) }, "ok");
        }, ct);
        return outcome switch
        {
            "ok" => Result<Passkey>.Ok(passkey),
            "full" => Result<Passkey>.Conflict($"at most {SignInState.MaxPasskeys} passkeys; remove one first"),
            "duplicate" => Result<Passkey>.Conflict("that passkey is already registered"),
            _ => Result<Passkey>.Invalid("state", "this passkey request was already used; start again"),
        };
    }

    public PasskeyCeremony BeginSignIn(RelyingParty rp)
    {
        var options = Fido(rp).GetAssertionOptions(new GetAssertionOptionsParams { UserVerification = UserVerificationRequirement.Required });
        var json = options.ToJson();
        return new PasskeyCeremony(json, Protect(new CeremonyState(Login, null, json, time.GetUtcNow() + CeremonyLifetime)));
    }

    /// <summary>The owner a passkey sign-in proves, or null when the answer does not verify (wrong, replayed, expired, unknown).</summary>
    public async Task<string?> CompleteSignInAsync(string? stateText, JsonElement? credential, RelyingParty rp, CancellationToken ct)
    {
        if (Unprotect(stateText, Login) is not { } ceremony) return null;
        if (Parse(credential, WebAuthnJsonContext.Default.AuthenticatorAssertionRawResponse) is not { Response.UserHandle: { Length: > 0 and <= 64 } handle } response) return null;
        var ownerId = Encoding.UTF8.GetString(handle);
        var state = await states.ReadAsync(ownerId, ct);
        var credentialId = System.Buffers.Text.Base64Url.EncodeToString(response.RawId ?? []);
        if (state.Passkeys.FirstOrDefault(p => p.CredentialId == credentialId) is not { } passkey) return null;
        var options = AssertionOptions.FromJson(ceremony.Options);
        VerifyAssertionResult verified;
        try
        {
            verified = await Fido(rp).MakeAssertionAsync(new MakeAssertionParams
            {
                AssertionResponse = response,
                OriginalOptions = options,
                StoredPublicKey = Convert.FromBase64String(passkey.PublicKey),
                StoredSignatureCounter = passkey.SignCount,
                IsUserHandleOwnerOfCredentialIdCallback = (args, _) =>
                    Task.FromResult(Encoding.UTF8.GetString(args.UserHandle) == ownerId && System.Buffers.Text.Base64Url.EncodeToString(args.CredentialId) == credentialId),
            }, ct);
        }
        catch (Fido2VerificationException)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var challenge = ChallengeHash(options.Challenge);
        var accepted = await states.UpdateAsync(ownerId, s =>
        {
            if (s.UsedChallenges.Any(c => c.Hash == challenge) || s.Passkeys.All(p => p.Id != passkey.Id)) return (null, false);
            var passkeys = s.Passkeys.Select(p => p.Id == passkey.Id ? p with { SignCount = verified.SignCount, LastUsedAt = now } : p).ToArray();
            return (s with { Passkeys = passkeys, UsedChallenges = Spend(s, challenge, ceremony.ExpiresAt, now) }, true);
        }, ct);
        return accepted ? ownerId : null;
    }

    /// <summary>Removes a passkey; with no second factor left, the recovery codes go too. False when there was none.</summary>
    public Task<bool> RemoveAsync(string ownerId, string passkeyId, CancellationToken ct) =>
        states.UpdateAsync(ownerId, state =>
        {
            if (state.Passkeys.All(p => p.Id != passkeyId)) return (null, false);
            var next = state with { Passkeys = state.Passkeys.Where(p => p.Id != passkeyId).ToArray() };
            return (next.HasSecondFactor ? next : next with { RecoveryCodeHashes = [] }, true);
        }, ct);

    private static Fido2 Fido(RelyingParty rp) => new(new Fido2Configuration
    {
        RPID = rp.Id,
        RPName = "OKAP Vault",
        Origins = new HashSet<string>(StringComparer.Ordinal) { rp.Origin },
    });

    private static IReadOnlyList<UsedChallenge> Spend(SignInState state, string challenge, DateTimeOffset until, DateTimeOffset now) =>
        [.. state.UsedChallenges.Where(c => c.ExpiresAt > now), new UsedChallenge(challenge, until)];

    private static string ChallengeHash(byte[] challenge) => Convert.ToHexStringLower(SHA256.HashData(challenge));

    private string Protect(CeremonyState state) => _protector.Protect(JsonSerializer.Serialize(state, SignInJsonContext.Default.CeremonyState));

    private CeremonyState? Unprotect(string? text, string kind)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 16 * 1024) return null;
        try
        {
            var state = JsonSerializer.Deserialize(_protector.Unprotect(text), SignInJsonContext.Default.CeremonyState);
            return state is not null && state.Kind == kind && state.ExpiresAt > time.GetUtcNow() ? state : null;
        }
        catch (Exception e) when (e is CryptographicException or JsonException or FormatException)
        {
            return null;
        }
    }

    private static T? Parse<T>(JsonElement? element, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) where T : class
    {
        if (element is not { ValueKind: JsonValueKind.Object } value) return null;
        try
        {
            return value.Deserialize(info);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }
}
