using System.Text.Json.Serialization;

namespace Okap.Protocol;

/// <summary>One entry of <c>authorization_details</c> (RFC 9396 style), as asked or as granted.</summary>
public sealed record AuthorizationDetail
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("provider")] public string? Provider { get; init; }
    [JsonPropertyName("models")] public List<string>? Models { get; init; }
    [JsonPropertyName("capabilities")] public List<string>? Capabilities { get; init; }
    [JsonPropertyName("limits")] public OkapLimits? Limits { get; init; }
    [JsonPropertyName("expires")] public string? Expires { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    /// <summary>Set only in granted details: where the app sends provider calls.</summary>
    [JsonPropertyName("base_url")] public string? BaseUrl { get; init; }

    /// <summary>The only detail type OKAP defines.</summary>
    public const string AiModelAccess = "ai_model_access";
}

/// <summary>Who is asking, in the specification shape.</summary>
public sealed record OkapClientInfo
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("url")] public string? Url { get; init; }
    [JsonPropertyName("callback")] public string? Callback { get; init; }
}

/// <summary>Body of <c>POST /okap/authorize</c>, the draft specification's shape.</summary>
public sealed record OkapAuthorizeRequest
{
    [JsonPropertyName("okap")] public string? Okap { get; init; }
    [JsonPropertyName("authorization_details")] public List<AuthorizationDetail>? AuthorizationDetails { get; init; }
    [JsonPropertyName("client")] public OkapClientInfo? Client { get; init; }
}

/// <summary>Reply to <c>POST /okap/authorize</c> and to its poll URL.</summary>
public sealed record OkapAuthorizeResponse
{
    [JsonPropertyName("okap")] public string Okap { get; init; } = OkapVersion.Current;
    /// <summary><c>granted</c>, <c>denied</c>, <c>pending</c> or <c>expired</c>.</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("token")] public string? Token { get; init; }
    [JsonPropertyName("authorization_details")] public List<AuthorizationDetail>? AuthorizationDetails { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("request_id")] public string? RequestId { get; init; }
    /// <summary>Where the requester polls; carries the secret poll handle.</summary>
    [JsonPropertyName("poll_url")] public string? PollUrl { get; init; }
    /// <summary>Where the person approves.</summary>
    [JsonPropertyName("approve_url")] public string? ApproveUrl { get; init; }
    [JsonPropertyName("expires_at")] public string? ExpiresAt { get; init; }
}

/// <summary>Status words of the specification shape.</summary>
public static class AuthorizeStatus
{
    public const string Granted = "granted";
    public const string Denied = "denied";
    public const string Pending = "pending";
    public const string Expired = "expired";
}
