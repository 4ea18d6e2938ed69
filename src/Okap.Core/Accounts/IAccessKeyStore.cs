namespace Okap.Core.Accounts;

/// <summary>Personal access keys for the admin API.</summary>
public interface IAccessKeyStore
{
    Task CreateAsync(PersonalAccessKey key, CancellationToken ct);
    Task<PersonalAccessKey?> FindByHashAsync(string hash, CancellationToken ct);
    Task<IReadOnlyList<PersonalAccessKey>> ListAsync(string ownerId, CancellationToken ct);
    Task<bool> RevokeAsync(string ownerId, string keyId, DateTimeOffset at, CancellationToken ct);
    /// <summary>Records that <paramref name="key"/> authenticated a call at <paramref name="at"/> (shown to the owner as "last used").</summary>
    Task MarkUsedAsync(PersonalAccessKey key, DateTimeOffset at, CancellationToken ct);
}
