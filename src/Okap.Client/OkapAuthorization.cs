namespace Okap.Client;

/// <summary>
/// The outcome of <see cref="OkapClient.AuthorizeAsync"/> and <see cref="OkapClient.WaitForDecisionAsync"/>: either an
/// <see cref="OkapGrantedAuthorization"/> (token issued) or an <see cref="OkapPendingAuthorization"/> (the person has
/// not decided yet). Denials and expiry are thrown as <see cref="OkapAccessDeniedException"/>.
/// </summary>
public abstract class OkapAuthorization
{
    private protected OkapAuthorization() { }

    /// <summary>The vault's id of the request (<c>request_id</c>), when it sent one.</summary>
    public string? RequestId { get; init; }

    /// <summary>True when this is an <see cref="OkapGrantedAuthorization"/>.</summary>
    public bool IsGranted => this is OkapGrantedAuthorization;
}

/// <summary>A request the person has not decided yet: poll it with <see cref="OkapClient.WaitForDecisionAsync"/>.</summary>
public sealed class OkapPendingAuthorization : OkapAuthorization
{
    /// <summary>
    /// Where the app polls for the decision. It carries the secret poll handle (<c>?handle=okap_poll_…</c>) that
    /// fetches the token once granted: keep it secret. <see cref="ToString"/> hides it.
    /// </summary>
    public required Uri PollUrl { get; init; }

    /// <summary>Where the person approves the request (show or send this link to them); null when the vault sent none.</summary>
    public Uri? ApproveUrl { get; init; }

    /// <summary>When the request expires undecided; null when the vault did not say.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>A description with the poll handle redacted.</summary>
    public override string ToString() =>
        $"OkapPendingAuthorization {{ RequestId = {RequestId}, ApproveUrl = {ApproveUrl}, PollUrl = {Redaction.Url(PollUrl)}, ExpiresAt = {Redaction.Time(ExpiresAt)} }}";
}

/// <summary>A granted authorization: one token for every provider in <see cref="Grants"/>, each with its own base URL.</summary>
public sealed class OkapGrantedAuthorization : OkapAuthorization
{
    /// <summary>The bearer token (<c>okap_…</c>) covering every grant. Keep it secret; <see cref="ToString"/> hides it.</summary>
    public required string Token { get; init; }

    /// <summary>What was granted, one entry per provider; possibly narrower than asked, possibly fewer providers.</summary>
    public required IReadOnlyList<OkapGrant> Grants { get; init; }

    /// <summary>The base URL of each granted provider, by provider id.</summary>
    public IReadOnlyDictionary<string, Uri> BaseUrls => Grants.ToDictionary(g => g.Provider, g => g.BaseUrl, StringComparer.Ordinal);

    /// <summary>The grant for <paramref name="provider"/>, or null when that provider was not granted.</summary>
    public OkapGrant? GrantFor(string provider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(provider);
        return Grants.FirstOrDefault(g => string.Equals(g.Provider, provider, StringComparison.Ordinal));
    }

    /// <summary>The token and base URL for one granted provider, as an <see cref="OkapAccess"/> to hand to that provider's SDK.</summary>
    /// <exception cref="ArgumentException">The provider was not granted.</exception>
    public OkapAccess AccessFor(string provider)
    {
        var grant = GrantFor(provider) ?? throw new ArgumentException(
            $"The vault did not grant provider '{provider}'; granted: {string.Join(", ", Grants.Select(g => g.Provider))}.", nameof(provider));
        return new OkapAccess
        {
            Token = Token,
            BaseUrl = grant.BaseUrl,
            Provider = grant.Provider,
            Models = grant.Models,
            Capabilities = grant.Capabilities,
            Limits = grant.Limits,
            ExpiresAt = grant.ExpiresAt,
        };
    }

    /// <summary>A description with the token redacted.</summary>
    public override string ToString() =>
        $"OkapGrantedAuthorization {{ RequestId = {RequestId}, Grants = [{string.Join(", ", Grants)}], Token = {Redaction.Hidden} }}";
}
