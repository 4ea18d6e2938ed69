using System.Text.Json.Serialization;

namespace Okap.Protocol;

/// <summary>
/// The protocol's error body <c>{"error": {"type", "message"}}</c>, plus the fields provider SDKs parse:
/// OpenAI reads <c>error.code</c>, Anthropic reads the top-level <c>"type": "error"</c>.
/// </summary>
public sealed record OkapErrorBody
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("error")] public required OkapError Error { get; init; }
}

/// <summary>The inner error object.</summary>
public sealed record OkapError
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("message")] public required string Message { get; init; }
    [JsonPropertyName("code")] public string? Code { get; init; }
    /// <summary>Names the request field at fault for validation errors.</summary>
    [JsonPropertyName("param")] public string? Param { get; init; }
}

/// <summary>Error type strings used on the wire.</summary>
public static class OkapErrorTypes
{
    public const string InvalidRequest = "invalid_request";
    public const string TokenInvalid = "invalid_token";
    public const string TokenRevoked = "token_revoked";
    public const string TokenExpired = "token_expired";
    public const string Forbidden = "permission_denied";
    public const string ModelNotAllowed = "model_not_allowed";
    public const string CapabilityNotAllowed = "capability_not_allowed";
    public const string ProviderNotAllowed = "provider_not_allowed";
    public const string RateLimited = "rate_limit_exceeded";
    public const string SpendLimit = "spend_limit_exceeded";
    public const string TokensPerRequest = "tokens_per_request_exceeded";
    public const string UnpricedModel = "model_not_priced";
    public const string NoMasterKey = "no_master_key";
    public const string VaultUnavailable = "vault_unavailable";
    public const string UpstreamUnavailable = "upstream_unavailable";
    public const string UpstreamTimeout = "upstream_timeout";
    public const string NotFound = "not_found";
    public const string Unauthorized = "unauthorized";
    public const string TooManyRequests = "too_many_requests";
    public const string PayloadTooLarge = "payload_too_large";
    public const string UnknownVault = "unknown_vault";
}

/// <summary>Values of <c>error_code</c> in SDK-shape replies.</summary>
public static class OkapErrorCodes
{
    public const string Pending = "pending_approval";
    public const string Denied = "access_denied";
    public const string Expired = "request_expired";
    public const string AlreadyClaimed = "already_claimed";
}
