using System.Text.Json.Serialization;

namespace Okap.Protocol.Admin;

// The admin API's contract: the JSON shapes (snake_case) the vault's handlers write and read, and the C# client and
// the CLI send and parse. Money is shown in USD decimals; limits reuse the protocol's shape (OkapLimits).

public sealed record GrantView(string Provider, IReadOnlyList<string> Models, IReadOnlyList<string> Capabilities, OkapLimits Limits, DateTimeOffset? ExpiresAt);

public sealed record RequestView(string Id, string Status, string Shape, string AppName, string? AppUrl, string? RedirectUri, string? Reason,
    string? ClientAddress, IReadOnlyList<GrantView> Requested, IReadOnlyList<GrantView>? Granted, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt,
    DateTimeOffset? DecidedAt, string? DecidedBy, string? DenyReason, string? TokenId, DateTimeOffset? ClaimedAt);

public sealed record TokenView(string Id, string Status, string AppName, string? AppUrl, string DisplayPrefix, IReadOnlyList<GrantView> Grants,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt, string? RequestId);

public sealed record KeyView(string Provider, string? Label, string Last4, string? BaseUrl, string AuthKind, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>Only on the reply to a save: what the provider said when the key was tried.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public KeyCheckView? Check { get; init; }
}

/// <summary><c>result</c>: accepted, unverified or skipped (a refused key is answered with a 400 and not saved).</summary>
public sealed record KeyCheckView(string Result, string? Detail);

/// <param name="Check">False skips trying the key with the provider; allowed only with a <c>base_url</c> of the owner's own.</param>
public sealed record SetKeyBody(string? Key, string? Label, string? BaseUrl, string? AuthKind, bool? Check = null);

public sealed record PolicyBody(string? Name, string? AppName, List<string>? Providers, List<string>? Models, List<string>? Capabilities,
    OkapLimits? MaxLimits, int? MaxDays, bool? Enabled);

public sealed record PolicyView(string Id, string Name, string? AppName, IReadOnlyList<string> Providers, IReadOnlyList<string> Models,
    IReadOnlyList<string> Capabilities, OkapLimits MaxLimits, int? MaxDays, bool Enabled, DateTimeOffset CreatedAt);

// Defaults mark the members optional in the OpenAPI document, as the handlers treat them ({} approves as asked).
public sealed record GrantBody(string? Provider, List<string>? Models = null, List<string>? Capabilities = null, OkapLimits? Limits = null, string? Expires = null);

public sealed record DecisionBody(List<GrantBody>? Grants = null, string? Reason = null);

/// <param name="Scopes">What the key may do; a key from before scopes shows the ones it acts with.</param>
/// <param name="LegacyScopes">True for a key from before scopes (it keeps what it could do then; replace it with a scoped one).</param>
public sealed record AccessKeyView(string Id, string Name, string DisplayPrefix, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt,
    IReadOnlyList<string> Scopes, bool LegacyScopes, DateTimeOffset? LastUsedAt);

public sealed record CreateAccessKeyBody(string? Name, List<string>? Scopes, int? ExpiresInDays);

public sealed record CreatedAccessKeyView(AccessKeyView Key, string Secret);

public sealed record AuditView(string Id, DateTimeOffset At, string Event, string? Actor, string? AppName, string? ClientAddress, string? RequestId, string? TokenId, string? Detail);

public sealed record UsageRowView(string TokenId, string Provider, string Period, long Requests, long InputTokens, long OutputTokens, decimal CostUsd);

public sealed record UsageView(IReadOnlyList<UsageRowView> Rows);

public sealed record SpendView(string Period, long Requests, long InputTokens, long OutputTokens, decimal CostUsd, decimal ReservedUsd, decimal? CapUsd, decimal? RemainingUsd);

public sealed record RateView(int Limit, long Used, long Remaining);

public sealed record GrantUsageView(string Provider, SpendView Today, SpendView Month, RateView? RequestsPerMinute, RateView? RequestsPerDay, int? TokensPerRequest);

public sealed record TokenUsageView(string TokenId, IReadOnlyList<GrantUsageView> Grants);

/// <summary>Body of <c>PUT /okap/admin/prices/{provider}/{model}</c>: USD per million tokens.</summary>
public sealed record PriceBody(decimal? InputPerMillion, decimal? CachedInputPerMillion, decimal? OutputPerMillion, int? MaxOutputTokens);

/// <summary>A price in USD per million tokens (an owner's override, or a catalog entry without <c>updated_at</c>).</summary>
public sealed record PriceView(string Provider, string Model, decimal InputPerMillion, decimal? CachedInputPerMillion, decimal OutputPerMillion,
    int? MaxOutputTokens, DateTimeOffset? UpdatedAt);

public sealed record CatalogView(string Version, string Currency, IReadOnlyList<PriceView> Models);

public sealed record PageView<T>(IReadOnlyList<T> Items, string? Next);

public sealed record SessionView(string OwnerId, string UserName, string DisplayName, string VaultUrl, string AuthMethod, string CsrfToken, string? SignOutUrl);

public sealed record SetupStateView(bool SetupRequired, bool RegistrationOpen, string? PlatformSignInUrl);

/// <summary>
/// Body of <c>POST /okap/account/login</c>. When the account has a second factor, add <c>totp_code</c> (from the
/// authenticator app) or <c>recovery_code</c>; without one the reply is 401 <c>second_factor_required</c>.
/// </summary>
public sealed record SignInBody(string? UserName, string? Password, string? TotpCode = null, string? RecoveryCode = null);

/// <summary>One signed-in browser session of the owner; <c>current</c> marks the one asking.</summary>
public sealed record SessionInfoView(string Id, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, string Method, string? ClientAddress, string? UserAgent, bool Current);

public sealed record PasskeyView(string Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

/// <summary>Reply of <c>POST /okap/account/passkeys</c>; <c>recovery_codes</c> are set (shown once) when this is the first second factor.</summary>
public sealed record AddedPasskeyView(PasskeyView Passkey, IReadOnlyList<string>? RecoveryCodes);

/// <summary>Reply of <c>GET /okap/account/security</c>: how the owner signs in, and where.</summary>
public sealed record SecurityView(bool HasPassword, bool TotpEnabled, int RecoveryCodesLeft, IReadOnlyList<PasskeyView> Passkeys, IReadOnlyList<SessionInfoView> Sessions);

/// <summary>Body of <c>POST /okap/account/password</c>.</summary>
public sealed record ChangePasswordBody(string? CurrentPassword, string? NewPassword);

/// <summary>A body holding only the account's password, asked again before a change to how it signs in.</summary>
public sealed record PasswordBody(string? Password);

/// <summary>Reply of <c>POST /okap/account/totp/setup</c>: the secret as text and as an <c>otpauth://</c> URI, shown once.</summary>
public sealed record TotpSetupView(string Secret, string OtpauthUri);

/// <summary>Body of <c>POST /okap/account/totp/confirm</c>: a current code from the app.</summary>
public sealed record CodeBody(string? Code);

/// <summary>New one-time recovery codes, shown once; earlier ones stop working.</summary>
public sealed record RecoveryCodesView(IReadOnlyList<string> RecoveryCodes);

/// <summary>
/// A WebAuthn ceremony: <c>options</c> for <c>navigator.credentials.create</c>/<c>get</c> (JSON, binary fields
/// base64url) and <c>state</c>, to send back unchanged with the browser's answer within 5 minutes.
/// </summary>
public sealed record PasskeyOptionsView(System.Text.Json.JsonElement Options, string State);

/// <summary>Body of <c>POST /okap/account/passkeys</c>: the ceremony's state, a name, and the browser's attestation (JSON).</summary>
public sealed record AddPasskeyBody(string? State, string? Name, System.Text.Json.JsonElement? Credential);

/// <summary>Body of <c>POST /okap/account/passkey-login</c>: the ceremony's state and the browser's assertion (JSON).</summary>
public sealed record PasskeySignInBody(string? State, System.Text.Json.JsonElement? Credential);

public sealed record CreateAccountBody(string? SetupToken, string? UserName, string? Password);

public sealed record MessageView(string Message);

/// <summary>Source-generated serialization of the admin API's records, for the vault and its clients alike.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(RequestView))]
[JsonSerializable(typeof(PageView<RequestView>))]
[JsonSerializable(typeof(TokenView))]
[JsonSerializable(typeof(PageView<TokenView>))]
[JsonSerializable(typeof(KeyView))]
[JsonSerializable(typeof(IReadOnlyList<KeyView>))]
[JsonSerializable(typeof(SetKeyBody))]
[JsonSerializable(typeof(PolicyBody))]
[JsonSerializable(typeof(PolicyView))]
[JsonSerializable(typeof(IReadOnlyList<PolicyView>))]
[JsonSerializable(typeof(DecisionBody))]
[JsonSerializable(typeof(AccessKeyView))]
[JsonSerializable(typeof(IReadOnlyList<AccessKeyView>))]
[JsonSerializable(typeof(CreateAccessKeyBody))]
[JsonSerializable(typeof(CreatedAccessKeyView))]
[JsonSerializable(typeof(PageView<AuditView>))]
[JsonSerializable(typeof(UsageView))]
[JsonSerializable(typeof(TokenUsageView))]
[JsonSerializable(typeof(PriceBody))]
[JsonSerializable(typeof(PriceView))]
[JsonSerializable(typeof(IReadOnlyList<PriceView>))]
[JsonSerializable(typeof(CatalogView))]
[JsonSerializable(typeof(SessionView))]
[JsonSerializable(typeof(SetupStateView))]
[JsonSerializable(typeof(SignInBody))]
[JsonSerializable(typeof(SecurityView))]
[JsonSerializable(typeof(ChangePasswordBody))]
[JsonSerializable(typeof(PasswordBody))]
[JsonSerializable(typeof(TotpSetupView))]
[JsonSerializable(typeof(CodeBody))]
[JsonSerializable(typeof(RecoveryCodesView))]
[JsonSerializable(typeof(PasskeyOptionsView))]
[JsonSerializable(typeof(AddPasskeyBody))]
[JsonSerializable(typeof(PasskeySignInBody))]
[JsonSerializable(typeof(PasskeyView))]
[JsonSerializable(typeof(AddedPasskeyView))]
[JsonSerializable(typeof(CreateAccountBody))]
[JsonSerializable(typeof(MessageView))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
