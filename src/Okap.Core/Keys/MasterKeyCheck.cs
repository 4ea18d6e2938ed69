namespace Okap.Core.Keys;

/// <summary>What the provider said when a new master key was tried before saving it.</summary>
public enum MasterKeyCheckOutcome
{
    /// <summary>The provider accepted the key on an authenticated read.</summary>
    Accepted,
    /// <summary>The provider answered 401 or 403: the key is wrong, revoked or lacks access. It is not saved.</summary>
    Refused,
    /// <summary>The provider could not be asked, or answered something that says nothing about the key (5xx, 404, timeout).</summary>
    Unverified,
    /// <summary>Not tried: no key to try (managed identity, no credential), or the owner turned the check off for their own upstream.</summary>
    Skipped,
}

/// <summary>The result of trying a master key, with a reason a person can read; never contains the key.</summary>
public sealed record MasterKeyCheckResult(MasterKeyCheckOutcome Outcome, string? Detail = null)
{
    public static readonly MasterKeyCheckResult NotRun = new(MasterKeyCheckOutcome.Skipped, "not checked");
}

/// <summary>A master key about to be saved, as the check sees it.</summary>
public sealed record MasterKeyCandidate(string OwnerId, string Provider, string? Key, string? BaseUrl, string AuthKind)
{
    // The key is a secret: a record's generated ToString would print it.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("OwnerId = ").Append(OwnerId).Append(", Provider = ").Append(Provider).Append(", BaseUrl = ").Append(BaseUrl)
            .Append(", AuthKind = ").Append(AuthKind);
        return true;
    }
}

/// <summary>
/// Tries a master key against the provider's cheapest authenticated endpoint before it is saved, through the same
/// upstream path (base URL, credential header, address guard) the proxy uses. Implemented by the proxy.
/// </summary>
public interface IMasterKeyCheck
{
    Task<MasterKeyCheckResult> CheckAsync(MasterKeyCandidate candidate, CancellationToken ct);
}

/// <summary>A saved master key and what its check found.</summary>
public sealed record SavedMasterKey(MasterKeyInfo Info, MasterKeyCheckResult Check);
