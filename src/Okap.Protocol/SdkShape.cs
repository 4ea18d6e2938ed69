using System.Text.Json.Serialization;

namespace Okap.Protocol;

/// <summary>Limits as both OKAP request shapes carry them (USD amounts as decimals).</summary>
public sealed record OkapLimits
{
    [JsonPropertyName("monthly_spend")] public decimal? MonthlySpend { get; init; }
    [JsonPropertyName("daily_spend")] public decimal? DailySpend { get; init; }
    [JsonPropertyName("requests_per_minute")] public int? RequestsPerMinute { get; init; }
    [JsonPropertyName("requests_per_day")] public int? RequestsPerDay { get; init; }
    [JsonPropertyName("tokens_per_request")] public int? TokensPerRequest { get; init; }
}

/// <summary>Body of <c>POST /okap/request</c>, the shape the published Python SDK sends.</summary>
public sealed record OkapAccessRequest
{
    [JsonPropertyName("okap")] public string? Okap { get; init; }
    [JsonPropertyName("provider")] public string? Provider { get; init; }
    [JsonPropertyName("models")] public List<string>? Models { get; init; }
    [JsonPropertyName("capabilities")] public List<string>? Capabilities { get; init; }
    [JsonPropertyName("limits")] public OkapLimits? Limits { get; init; }
    [JsonPropertyName("expires")] public string? Expires { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("app_name")] public string? AppName { get; init; }
    [JsonPropertyName("app_url")] public string? AppUrl { get; init; }
    [JsonPropertyName("redirect_uri")] public string? RedirectUri { get; init; }
}

/// <summary>The token object inside an SDK-shape reply.</summary>
public sealed record OkapTokenGrant
{
    [JsonPropertyName("token")] public required string Token { get; init; }
    [JsonPropertyName("base_url")] public required string BaseUrl { get; init; }
    [JsonPropertyName("provider")] public required string Provider { get; init; }
    [JsonPropertyName("models")] public required List<string> Models { get; init; }
    [JsonPropertyName("capabilities")] public required List<string> Capabilities { get; init; }
    [JsonPropertyName("limits")] public OkapLimits? Limits { get; init; }
    [JsonPropertyName("expires_at")] public string? ExpiresAt { get; init; }
    [JsonPropertyName("created_at")] public string? CreatedAt { get; init; }
}

/// <summary>Reply to <c>POST /okap/request</c>, as the Python SDK parses it.</summary>
public sealed record OkapAccessResponse
{
    [JsonPropertyName("okap")] public string Okap { get; init; } = OkapVersion.Current;
    [JsonPropertyName("approved")] public bool Approved { get; init; }
    [JsonPropertyName("token")] public OkapTokenGrant? Token { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
    [JsonPropertyName("error_code")] public string? ErrorCode { get; init; }
}

/// <summary>Protocol constants.</summary>
public static class OkapVersion
{
    /// <summary>The protocol version this vault speaks.</summary>
    public const string Current = "1.0";
}
