using Okap.Core.Audit;

namespace Okap.Core.Accounts;

/// <summary>Personal access keys for the admin API: shown once, stored hashed.</summary>
public sealed class AccessKeyService(IAccessKeyStore keys, AuditLog audit, TimeProvider time)
{
    public Task<IReadOnlyList<PersonalAccessKey>> ListAsync(string ownerId, CancellationToken ct) => keys.ListAsync(ownerId, ct);

    public async Task<Result<(PersonalAccessKey Key, string Secret)>> CreateAsync(string ownerId, string? name, int? days, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100) return Result<(PersonalAccessKey, string)>.Invalid("name", "name is 1 to 100 characters");
        if (days is <= 0 or > 3650) return Result<(PersonalAccessKey, string)>.Invalid("expires_in_days", "1 to 3650 days");
        var secret = Secrets.NewAccessKey();
        var now = time.GetUtcNow();
        var key = new PersonalAccessKey
        {
            Id = Secrets.NewId("pat"),
            OwnerId = ownerId,
            Name = name.Trim(),
            Hash = Secrets.Hash(secret),
            DisplayPrefix = Secrets.DisplayPrefix(secret),
            CreatedAt = now,
            ExpiresAt = days is null ? null : now.AddDays(days.Value),
        };
        await keys.CreateAsync(key, ct);
        await audit.AppendAsync(ownerId, AuditEvents.AccessKeyCreated, ct, detail: key.Name);
        return Result<(PersonalAccessKey, string)>.Ok((key, secret));
    }

    public async Task<bool> RevokeAsync(string ownerId, string id, CancellationToken ct)
    {
        if (!await keys.RevokeAsync(ownerId, id, time.GetUtcNow(), ct)) return false;
        await audit.AppendAsync(ownerId, AuditEvents.AccessKeyRevoked, ct, detail: id);
        return true;
    }

    /// <summary>The owner a presented access key belongs to, if it is valid now.</summary>
    public async Task<string?> AuthenticateAsync(string secret, CancellationToken ct)
    {
        if (!secret.StartsWith(Secrets.AccessKeyPrefix, StringComparison.Ordinal) || secret.Length > 200) return null;
        var key = await keys.FindByHashAsync(Secrets.Hash(secret), ct);
        var now = time.GetUtcNow();
        return key is null || key.RevokedAt is not null || key.ExpiresAt <= now ? null : key.OwnerId;
    }
}
