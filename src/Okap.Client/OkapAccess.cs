using Okap.Protocol;

namespace Okap.Client;

/// <summary>
/// Access the vault granted: an <c>okap_…</c> token and the <see cref="BaseUrl"/> to use it with, in place of a
/// provider key and the provider's URL. <see cref="ToString"/> never shows the token.
/// </summary>
public sealed class OkapAccess
{
    /// <summary>The bearer token (<c>okap_…</c>); use it where the provider's API key would go. Keep it secret.</summary>
    public required string Token { get; init; }

    /// <summary>Where the app sends this provider's calls, e.g. <c>https://vault.example.com/v1/openai</c>.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>The provider id this access is for.</summary>
    public required string Provider { get; init; }

    /// <summary>Models granted; empty means every model.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>Capabilities granted.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>Limits that apply (possibly narrower than asked); null when the vault sent none.</summary>
    public OkapLimits? Limits { get; init; }

    /// <summary>When the token stops working; null when it does not expire (or the vault did not say).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When the token was issued, when the vault said.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>A description with the token redacted.</summary>
    public override string ToString() =>
        $"OkapAccess {{ Provider = {Provider}, BaseUrl = {BaseUrl}, Models = [{string.Join(", ", Models)}], " +
        $"Capabilities = [{string.Join(", ", Capabilities)}], ExpiresAt = {Redaction.Time(ExpiresAt)}, Token = {Redaction.Hidden} }}";
}

/// <summary>What one provider's entry of a granted authorization allows, and where to call it.</summary>
public sealed class OkapGrant
{
    /// <summary>The provider id.</summary>
    public required string Provider { get; init; }

    /// <summary>Where the app sends this provider's calls with the authorization's token.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>Models granted; empty means every model.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>Capabilities granted.</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>Limits that apply (possibly narrower than asked); null when the vault sent none.</summary>
    public OkapLimits? Limits { get; init; }

    /// <summary>When this grant ends; null when it does not expire (or the vault did not say).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>A description of the grant (it holds no secret).</summary>
    public override string ToString() =>
        $"OkapGrant {{ Provider = {Provider}, BaseUrl = {BaseUrl}, Models = [{string.Join(", ", Models)}], " +
        $"Capabilities = [{string.Join(", ", Capabilities)}], ExpiresAt = {Redaction.Time(ExpiresAt)} }}";
}
