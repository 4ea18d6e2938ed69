using Okap.Core.Audit;

namespace Okap.Core.Accounts;

/// <summary>Personal access keys for the admin API: scoped, expiring, shown once, stored hashed.</summary>
public sealed class AccessKeyService(IAccessKeyStore keys, AuditLog audit, TimeProvider time, Microsoft.Extensions.Options.IOptions<VaultOptions> options)
{
    public Task<IReadOnlyList<PersonalAccessKey>> ListAsync(string ownerId, CancellationToken ct) => keys.ListAsync(ownerId, ct);

    /// <summary>
    /// Creates a key with the given <paramref name="scopes"/> (required: least privilege is chosen, never assumed) that
    /// expires after <paramref name="days"/>, or after <see cref="VaultOptions.DefaultAccessKeyLifetime"/> when none is given.
    /// </summary>
    public async Task<Result<(PersonalAccessKey Key, string Secret)>> CreateAsync(string ownerId, string? name, IReadOnlyList<string>? scopes, int? days, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100) return Result<(PersonalAccessKey, string)>.Invalid("name", "name is 1 to 100 characters");
        if (AccessKeyScopes.Parse(scopes) is not { } granted)
        {
            return Result<(PersonalAccessKey, string)>.Invalid("scopes", $"scopes is required: one or more of {string.Join(", ", AccessKeyScopes.All)}");
        }
        var maxDays = (int)options.Value.MaxAccessKeyLifetime.TotalDays;
        if (days is { } d && (d < 1 || d > maxDays)) return Result<(PersonalAccessKey, string)>.Invalid("expires_in_days", $"1 to {maxDays} days (this vault's longest access key lifetime)");
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
            ExpiresAt = days is { } chosen ? now.AddDays(chosen) : now + options.Value.DefaultAccessKeyLifetime,
            Scopes = granted,
        };
        await keys.CreateAsync(key, ct);
        await audit.AppendAsync(ownerId, AuditEvents.AccessKeyCreated, ct, detail: $"{key.Id} {key.Name} [{string.Join(' ', granted)}]");
        return Result<(PersonalAccessKey, string)>.Ok((key, secret));
    }

    public async Task<bool> RevokeAsync(string ownerId, string id, CancellationToken ct)
    {
        if (!await keys.RevokeAsync(ownerId, id, time.GetUtcNow(), ct)) return false;
        await audit.AppendAsync(ownerId, AuditEvents.AccessKeyRevoked, ct, detail: id);
        return true;
    }

    /// <summary>
    /// The key a presented secret belongs to, if it is valid now (not revoked, not expired). Its last use is written
    /// when the stored one is older than <see cref="AccessKeyScopes.LastUsedResolution"/>, so a busy script costs no
    /// write per call.
    /// </summary>
    public async Task<PersonalAccessKey?> AuthenticateAsync(string secret, CancellationToken ct)
    {
        if (!secret.StartsWith(Secrets.AccessKeyPrefix, StringComparison.Ordinal) || secret.Length > 200) return null;
        var key = await keys.FindByHashAsync(Secrets.Hash(secret), ct);
        var now = time.GetUtcNow();
        if (key is null || key.RevokedAt is not null || key.ExpiresAt <= now) return null;
        if (key.LastUsedAt is not { } last || now - last >= AccessKeyScopes.LastUsedResolution) await keys.MarkUsedAsync(key, now, ct);
        return key;
    }
}
