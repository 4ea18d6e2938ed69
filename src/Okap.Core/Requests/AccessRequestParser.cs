using System.Globalization;
using Okap.Core.Tokens;
using Okap.Protocol;

namespace Okap.Core.Requests;

/// <summary>Validates both OKAP request shapes into one <see cref="AccessRequestDraft"/>, naming the first bad field.</summary>
public sealed class AccessRequestParser(TimeProvider time)
{
    public const int MaxTextLength = 1000;
    public const int MaxNameLength = 200;
    public const int MaxUrlLength = 2048;
    public const int MaxModels = 64;
    public const int MaxModelLength = 128;
    public const int MaxDetails = 8;
    private const decimal MaxSpendUsd = 1_000_000m;

    /// <summary>Validates the Python SDK's shape. Only values that SDK can parse back are accepted, so its reply always parses.</summary>
    public (AccessRequestDraft? Draft, FieldError? Error) Parse(OkapAccessRequest body)
    {
        if (Version(body.Okap, "okap") is { } versionError) return (null, versionError);
        if (string.IsNullOrWhiteSpace(body.Provider)) return Fail("provider", "provider is required");
        if (!OkapCatalog.SdkProviders.Contains(body.Provider))
        {
            return Fail("provider", $"unknown provider; this endpoint accepts: {string.Join(", ", OkapCatalog.SdkProviders.Order())}");
        }
        var appName = string.IsNullOrWhiteSpace(body.AppName) ? "Unnamed app" : body.AppName.Trim();
        if (Text(appName, "app_name", MaxNameLength) is { } e1) return (null, e1);
        if (Text(body.Reason, "reason", MaxTextLength) is { } e2) return (null, e2);
        if (Url(body.AppUrl, "app_url") is { } e3) return (null, e3);
        if (Url(body.RedirectUri, "redirect_uri") is { } e4) return (null, e4);

        var (grant, error) = ParseGrant(body.Provider, body.Models, body.Capabilities ?? ["chat"], body.Limits, body.Expires, "", OkapCatalog.SdkCapabilities);
        if (error is not null) return (null, error);
        return (new AccessRequestDraft(RequestShape.Sdk, appName, Blank(body.AppUrl), Blank(body.RedirectUri), Blank(body.Reason), [grant!]), null);
    }

    /// <summary>Validates the specification's shape (several providers per request).</summary>
    public (AccessRequestDraft? Draft, FieldError? Error) Parse(OkapAuthorizeRequest body)
    {
        if (Version(body.Okap, "okap") is { } versionError) return (null, versionError);
        if (body.Client is null) return Fail("client", "client is required");
        if (string.IsNullOrWhiteSpace(body.Client.Name)) return Fail("client.name", "client.name is required");
        if (Text(body.Client.Name, "client.name", MaxNameLength) is { } e1) return (null, e1);
        if (Url(body.Client.Url, "client.url") is { } e2) return (null, e2);
        if (Url(body.Client.Callback, "client.callback") is { } e3) return (null, e3);
        if (body.AuthorizationDetails is null || body.AuthorizationDetails.Count == 0)
        {
            return Fail("authorization_details", "authorization_details must name at least one provider");
        }
        if (body.AuthorizationDetails.Count > MaxDetails) return Fail("authorization_details", $"at most {MaxDetails} entries");

        var grants = new List<Grant>();
        string? reason = null;
        for (var i = 0; i < body.AuthorizationDetails.Count; i++)
        {
            var detail = body.AuthorizationDetails[i];
            var path = $"authorization_details[{i}]";
            if (detail is null) return Fail(path, "entry must be an object");
            if (detail.Type != AuthorizationDetail.AiModelAccess) return Fail(path + ".type", $"type must be \"{AuthorizationDetail.AiModelAccess}\"");
            if (string.IsNullOrWhiteSpace(detail.Provider)) return Fail(path + ".provider", "provider is required");
            if (!OkapCatalog.Providers.Contains(detail.Provider))
            {
                return Fail(path + ".provider", $"unknown provider; known: {string.Join(", ", OkapCatalog.Providers.Order())}");
            }
            if (grants.Any(g => g.Provider == detail.Provider)) return Fail(path + ".provider", "provider named twice");
            if (Text(detail.Reason, path + ".reason", MaxTextLength) is { } e4) return (null, e4);
            if (detail.BaseUrl is not null) return Fail(path + ".base_url", "base_url is set by the vault, not the requester");
            reason ??= Blank(detail.Reason);
            var (grant, error) = ParseGrant(detail.Provider, detail.Models, detail.Capabilities ?? [], detail.Limits, detail.Expires, path + ".", OkapCatalog.Capabilities);
            if (error is not null) return (null, error);
            grants.Add(grant!);
        }
        return (new AccessRequestDraft(RequestShape.Spec, body.Client.Name.Trim(), Blank(body.Client.Url), Blank(body.Client.Callback), reason, grants), null);
    }

    private (Grant? Grant, FieldError? Error) ParseGrant(string provider, List<string>? models, List<string> capabilities,
        OkapLimits? limits, string? expires, string prefix, IReadOnlySet<string> knownCapabilities)
    {
        models ??= [];
        if (models.Count > MaxModels) return (null, new(prefix + "models", $"at most {MaxModels} models"));
        for (var i = 0; i < models.Count; i++)
        {
            var model = models[i];
            if (string.IsNullOrWhiteSpace(model) || model.Length > MaxModelLength || model.Any(char.IsControl))
            {
                return (null, new($"{prefix}models[{i}]", $"a model name is 1 to {MaxModelLength} printable characters"));
            }
        }
        for (var i = 0; i < capabilities.Count; i++)
        {
            if (capabilities[i] is null || !knownCapabilities.Contains(capabilities[i]))
            {
                return (null, new($"{prefix}capabilities[{i}]", $"unknown capability; known: {string.Join(", ", knownCapabilities.Order())}"));
            }
        }
        var (parsedLimits, limitError) = ParseLimits(limits, prefix + "limits");
        if (limitError is not null) return (null, limitError);
        var (expiresAt, expiryError) = ParseExpiry(expires, prefix + "expires");
        if (expiryError is not null) return (null, expiryError);
        return (new Grant(provider, models.Distinct(StringComparer.Ordinal).ToArray(), capabilities.Distinct(StringComparer.Ordinal).ToArray(), parsedLimits!, expiresAt), null);
    }

    /// <summary>Validates limits an owner sets when narrowing a grant or writing a policy.</summary>
    public static (Limits? Limits, FieldError? Error) ParseLimitsForOwner(OkapLimits? limits, string path) => ParseLimits(limits, path);

    /// <summary>Validates an expiry an owner sets when narrowing a grant.</summary>
    public (DateTimeOffset? At, FieldError? Error) ParseExpiryForOwner(string? expires, string path) => ParseExpiry(expires, path);

    internal static (Limits? Limits, FieldError? Error) ParseLimits(OkapLimits? limits, string path)
    {
        if (limits is null) return (Limits.None, null);
        if (Money(limits.MonthlySpend, path + ".monthly_spend", out var monthly) is { } e1) return (null, e1);
        if (Money(limits.DailySpend, path + ".daily_spend", out var daily) is { } e2) return (null, e2);
        if (Count(limits.RequestsPerMinute, path + ".requests_per_minute") is { } e3) return (null, e3);
        if (Count(limits.RequestsPerDay, path + ".requests_per_day") is { } e4) return (null, e4);
        if (Count(limits.TokensPerRequest, path + ".tokens_per_request") is { } e5) return (null, e5);
        return (new Limits
        {
            MonthlySpendMicros = monthly,
            DailySpendMicros = daily,
            RequestsPerMinute = limits.RequestsPerMinute,
            RequestsPerDay = limits.RequestsPerDay,
            TokensPerRequest = limits.TokensPerRequest,
        }, null);
    }

    /// <summary>Accepts a date (<c>2025-03-01</c>, meaning its start in UTC) or an ISO-8601 time with offset; it must lie in the future.</summary>
    internal (DateTimeOffset? At, FieldError? Error) ParseExpiry(string? expires, string path)
    {
        if (string.IsNullOrWhiteSpace(expires)) return (null, null);
        DateTimeOffset at;
        if (DateOnly.TryParseExact(expires, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            at = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        }
        else if (DateTimeOffset.TryParse(expires, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            at = parsed.ToUniversalTime();
        }
        else
        {
            return (null, new(path, "expires must be a date (YYYY-MM-DD) or an ISO-8601 date-time"));
        }
        if (at <= time.GetUtcNow()) return (null, new(path, "expires must be in the future"));
        return (at, null);
    }

    private static FieldError? Money(decimal? usd, string path, out long? micros)
    {
        micros = null;
        if (usd is null) return null;
        if (usd < 0 || usd > MaxSpendUsd) return new(path, $"must be between 0 and {MaxSpendUsd.ToString(CultureInfo.InvariantCulture)} USD");
        micros = (long)decimal.Floor(usd.Value * 1_000_000m);
        return null;
    }

    private static FieldError? Count(int? value, string path) =>
        value is < 0 ? new(path, "must not be negative") : null;

    private static FieldError? Version(string? version, string path) =>
        version is null || version == OkapVersion.Current ? null : new(path, $"unsupported OKAP version; this vault speaks {OkapVersion.Current}");

    private static FieldError? Text(string? value, string path, int max) =>
        value is not null && value.Length > max ? new(path, $"at most {max} characters") : null;

    private static FieldError? Url(string? value, string path)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (value.Length > MaxUrlLength) return new(path, $"at most {MaxUrlLength} characters");
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? null
            : new(path, "must be an absolute http(s) URL");
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static (AccessRequestDraft?, FieldError?) Fail(string field, string message) => (null, new(field, message));
}
