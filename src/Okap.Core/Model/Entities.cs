namespace Okap.Core.Model;

/// <summary>A person who owns a vault. Every other record is scoped by <see cref="Id"/>.</summary>
/// <param name="Slug">Lower-case name used in the owner's vault address (<c>{slug}.{base domain}</c>).</param>
public sealed record Owner(string Id, string Slug, string DisplayName, DateTimeOffset CreatedAt);

/// <summary>A local sign-in for the self-hosted server.</summary>
public sealed record LocalAccount
{
    public required string OwnerId { get; init; }
    /// <summary>Normalised (lower-case) user name; unique.</summary>
    public required string UserName { get; init; }
    public required string PasswordHash { get; init; }
    public int FailedAttempts { get; init; }
    public DateTimeOffset? LockedUntil { get; init; }
}

/// <summary>Link from an external identity (e.g. Entra ID via App Service Authentication) to an owner.</summary>
public sealed record ExternalLogin(string Issuer, string Subject, string OwnerId);

/// <summary>Where an access request stands.</summary>
public enum RequestStatus
{
    Pending,
    Approved,
    Denied,
    Expired,
}

/// <summary>Which wire shape a request came in.</summary>
public enum RequestShape
{
    /// <summary><c>POST /okap/request</c>, the Python SDK's shape.</summary>
    Sdk,
    /// <summary><c>POST /okap/authorize</c>, the specification's shape.</summary>
    Spec,
}

/// <summary>An app's request for access to an owner's keys.</summary>
public sealed record AccessRequest
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required RequestShape Shape { get; init; }
    public required string AppName { get; init; }
    public string? AppUrl { get; init; }
    public string? RedirectUri { get; init; }
    public string? Reason { get; init; }
    public string? ClientAddress { get; init; }
    public required IReadOnlyList<Grant> Requested { get; init; }
    /// <summary>What was granted (possibly narrower than asked); set on approval.</summary>
    public IReadOnlyList<Grant>? Granted { get; init; }
    public required RequestStatus Status { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>When a still-pending request expires.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    public DateTimeOffset? DecidedAt { get; init; }
    /// <summary><c>owner</c> or <c>policy:{id}</c>.</summary>
    public string? DecidedBy { get; init; }
    public string? DenyReason { get; init; }
    /// <summary>SHA-256 of the requester's secret poll handle (spec shape only).</summary>
    public string? PollHandleHash { get; init; }
    /// <summary>Set once the token was handed to the requester; a token is handed over once.</summary>
    public string? TokenId { get; init; }
    public DateTimeOffset? ClaimedAt { get; init; }
    /// <summary>Opaque optimistic-concurrency stamp owned by the store (row version or ETag).</summary>
    public string? ConcurrencyStamp { get; init; }

    /// <summary>The status as of <paramref name="now"/>: a pending request past its expiry reads as expired.</summary>
    public RequestStatus EffectiveStatus(DateTimeOffset now) =>
        Status == RequestStatus.Pending && now >= ExpiresAt ? RequestStatus.Expired : Status;
}

/// <summary>An issued OKAP token. The token itself is never stored: <see cref="Hash"/> is SHA-256 of it.</summary>
public sealed record TokenRecord
{
    /// <summary>Public id used by the admin API (not secret).</summary>
    public required string Id { get; init; }
    /// <summary>Lower-case hex SHA-256 of the token; the lookup key.</summary>
    public required string Hash { get; init; }
    public required string OwnerId { get; init; }
    public string? RequestId { get; init; }
    public required string AppName { get; init; }
    public string? AppUrl { get; init; }
    /// <summary>First characters of the token, for recognising it on screen.</summary>
    public required string DisplayPrefix { get; init; }
    public required IReadOnlyList<Grant> Grants { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>Earliest expiry among the grants; null when none expires.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    public DateTimeOffset? LastUsedAt { get; init; }

    public Grant? GrantFor(string provider)
    {
        foreach (var grant in Grants)
        {
            if (string.Equals(grant.Provider, provider, StringComparison.Ordinal)) return grant;
        }
        return null;
    }
}

/// <summary>Non-secret facts about an owner's master key for one provider; the key itself lives in an <see cref="Stores.ISecretStore"/>.</summary>
public sealed record MasterKeyInfo
{
    public required string OwnerId { get; init; }
    public required string Provider { get; init; }
    public string? Label { get; init; }
    /// <summary>Last four characters of the key; all that is ever shown.</summary>
    public required string Last4 { get; init; }
    /// <summary>Owner-chosen upstream base URL (Ollama, Azure OpenAI, OpenAI-compatible endpoints); null uses the configured default.</summary>
    public string? BaseUrl { get; init; }
    /// <summary>How the vault authenticates upstream: <c>key</c> (default), <c>azure-api-key</c>, <c>managed-identity</c>, <c>none</c>.</summary>
    public string AuthKind { get; init; } = MasterKeyAuthKinds.Key;
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Values of <see cref="MasterKeyInfo.AuthKind"/>.</summary>
public static class MasterKeyAuthKinds
{
    public const string Key = "key";
    public const string AzureApiKey = "azure-api-key";
    public const string ManagedIdentity = "managed-identity";
    public const string None = "none";
}

/// <summary>An auto-approve rule ("headless" mode): requests it covers are decided at once.</summary>
public sealed record AutoApprovePolicy
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required string Name { get; init; }
    /// <summary>App name to match (case-insensitive); null matches any app.</summary>
    public string? AppName { get; init; }
    /// <summary>Providers covered; must be non-empty.</summary>
    public required IReadOnlyList<string> Providers { get; init; }
    /// <summary>Models that may be granted; empty means any.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];
    /// <summary>Capabilities that may be granted; empty means any.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];
    /// <summary>Caps applied to the grant; a missing or larger requested limit is lowered to the cap.</summary>
    public Limits MaxLimits { get; init; } = Limits.None;
    /// <summary>Longest grant in days; null means the requested expiry is kept.</summary>
    public int? MaxDays { get; init; }
    public bool Enabled { get; init; } = true;
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A personal access key for the admin API. Stored hashed; shown once.</summary>
public sealed record PersonalAccessKey
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required string Name { get; init; }
    public required string Hash { get; init; }
    public required string DisplayPrefix { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>One append-only audit entry.</summary>
public sealed record AuditEvent
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required DateTimeOffset At { get; init; }
    /// <summary>Event name, e.g. <c>request.created</c>, <c>token.revoked</c> (see <see cref="AuditEvents"/>).</summary>
    public required string Event { get; init; }
    public string? AppName { get; init; }
    public string? ClientAddress { get; init; }
    public string? RequestId { get; init; }
    public string? TokenId { get; init; }
    public string? Detail { get; init; }
}

/// <summary>Audit event names.</summary>
public static class AuditEvents
{
    public const string RequestCreated = "request.created";
    public const string RequestApproved = "request.approved";
    public const string RequestAutoApproved = "request.auto_approved";
    public const string RequestDenied = "request.denied";
    public const string TokenIssued = "token.issued";
    public const string TokenRevoked = "token.revoked";
    public const string TokenNarrowed = "token.narrowed";
    public const string TokenUsed = "token.used";
    public const string TokenRefused = "token.refused";
    public const string KeySet = "key.set";
    public const string KeyRemoved = "key.removed";
    public const string PolicyCreated = "policy.created";
    public const string PolicyUpdated = "policy.updated";
    public const string PolicyRemoved = "policy.removed";
    public const string AccessKeyCreated = "access_key.created";
    public const string AccessKeyRevoked = "access_key.revoked";
    public const string PriceSet = "price.set";
    public const string PriceRemoved = "price.removed";
    public const string SignIn = "account.sign_in";
    public const string SignInFailed = "account.sign_in_failed";
    public const string AccountCreated = "account.created";
}

/// <summary>Usage counters of one grant (token + provider) over one period.</summary>
/// <param name="GrantKey">Token id and provider, see <see cref="UsageKeys.Grant"/>.</param>
/// <param name="Period">Day <c>d:2026-11-24</c> or month <c>m:2026-11</c> (UTC), see <see cref="UsageKeys"/>.</param>
public sealed record UsageCounter(
    string OwnerId,
    string GrantKey,
    string Period,
    long Requests,
    long InputTokens,
    long OutputTokens,
    long CostMicros);

/// <summary>Keys used for usage counters.</summary>
public static class UsageKeys
{
    public static string Grant(string tokenId, string provider) => string.Concat(tokenId, ":", provider);
    public static string Day(DateTimeOffset at) => "d:" + at.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
    public static string Month(DateTimeOffset at) => "m:" + at.UtcDateTime.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>One page of a listing, with an opaque continuation token for the next page (null at the end).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? ContinuationToken);
