using Okap.Core.Accounts;
using Okap.Core.Audit;

namespace Okap.Core.Keys;

/// <summary>An owner's master keys: the key goes to the secret store, only metadata (last four characters, dates) to the store.</summary>
public sealed class MasterKeyService(IKeyMetadataStore metadata, ISecretStore secrets, AuditLog audit, TimeProvider time,
    IEnumerable<IOwnerSettingsListener> listeners, IEnumerable<IMasterKeyCheck> checks, ManagedIdentityGrants managedIdentity)
{
    public const int MaxKeyLength = 4096;

    public Task<IReadOnlyList<MasterKeyInfo>> ListAsync(string ownerId, CancellationToken ct) => metadata.ListAsync(ownerId, ct);

    public Task<MasterKeyInfo?> GetAsync(string ownerId, string provider, CancellationToken ct) => metadata.GetAsync(ownerId, provider, ct);

    /// <summary>
    /// Adds or replaces the key for a provider, after trying it with the provider (see <see cref="IMasterKeyCheck"/>): a key
    /// the provider refuses is not saved. A null <paramref name="key"/> is allowed only for keyless upstreams (Ollama,
    /// managed identity). <paramref name="check"/> false skips the check, allowed only for the owner's own base URL.
    /// </summary>
    public async Task<Result<SavedMasterKey>> SetAsync(string ownerId, string provider, string? key, string? label, string? baseUrl, string? authKind,
        bool allowInsecureUpstreams, string? clientAddress, CancellationToken ct, bool check = true)
    {
        var validated = Validate(provider, key, label, baseUrl, ref authKind, allowInsecureUpstreams);
        if (validated is not null) return Result<SavedMasterKey>.Invalid(validated.Field, validated.Message);
        // Before the key check, which would otherwise send the vault's identity to a host this owner was never granted.
        if (authKind == MasterKeyAuthKinds.ManagedIdentity && managedIdentity.Check(ownerId, baseUrl) is { Allowed: false } refused)
        {
            return Result<SavedMasterKey>.Invalid("auth_kind", "managed-identity is not allowed here: " + refused.Reason);
        }
        if (!check && baseUrl is null) return Result<SavedMasterKey>.Invalid("check", "a key for the provider's own endpoint is always checked; only a base_url of your own may skip the check");
        key = key?.Trim();

        var checkResult = MasterKeyCheckResult.NotRun;
        if (check && checks.FirstOrDefault() is { } checker)
        {
            checkResult = await checker.CheckAsync(new MasterKeyCandidate(ownerId, provider, key, baseUrl?.TrimEnd('/'), authKind!), ct);
            if (checkResult.Outcome == MasterKeyCheckOutcome.Refused) return Result<SavedMasterKey>.Invalid("key", checkResult.Detail ?? "the provider refused this key");
        }
        else if (!check)
        {
            checkResult = new MasterKeyCheckResult(MasterKeyCheckOutcome.Skipped, "the check was turned off");
        }
        var now = time.GetUtcNow();
        var keyless = authKind is MasterKeyAuthKinds.ManagedIdentity or MasterKeyAuthKinds.None;
        var existing = await metadata.GetAsync(ownerId, provider, ct);
        if (keyless) await secrets.DeleteAsync(ownerId, provider, ct);
        else await secrets.SetAsync(ownerId, provider, key!, ct);
        var info = new MasterKeyInfo
        {
            OwnerId = ownerId,
            Provider = provider,
            Label = string.IsNullOrWhiteSpace(label) ? null : label.Trim(),
            Last4 = keyless ? "" : Secrets.Last4(key!),
            BaseUrl = baseUrl?.TrimEnd('/'),
            AuthKind = authKind!,
            CreatedAt = existing?.CreatedAt ?? now,
            UpdatedAt = now,
        };
        await metadata.UpsertAsync(info, ct);
        Notify(ownerId);
        await audit.AppendAsync(ownerId, AuditEvents.KeySet, ct, clientAddress: clientAddress,
            detail: provider + (existing is null ? " added" : " replaced") + ", check " + checkResult.Outcome.ToString().ToLowerInvariant());
        return Result<SavedMasterKey>.Ok(new SavedMasterKey(info, checkResult));
    }

    private static Requests.FieldError? Validate(string provider, string? key, string? label, string? baseUrl, ref string? authKind, bool allowInsecureUpstreams)
    {
        if (!Protocol.OkapCatalog.Providers.Contains(provider)) return new("provider", "unknown provider");
        authKind ??= MasterKeyAuthKinds.Key;
        if (authKind is not (MasterKeyAuthKinds.Key or MasterKeyAuthKinds.AzureApiKey or MasterKeyAuthKinds.ManagedIdentity or MasterKeyAuthKinds.None))
        {
            return new("auth_kind", "auth_kind is one of key, azure-api-key, managed-identity, none");
        }
        var keyless = authKind is MasterKeyAuthKinds.ManagedIdentity or MasterKeyAuthKinds.None;
        if (!keyless && string.IsNullOrWhiteSpace(key)) return new("key", "key is required");
        if (key is not null && (key.Length > MaxKeyLength || key.Any(char.IsControl))) return new("key", "key is too long or has control characters");
        // No provider issues keys with spaces; a sentence pasted by mistake is caught before anything is stored or sent.
        if (key is not null && key.Trim().Any(char.IsWhiteSpace)) return new("key", "a provider key has no spaces: paste the key alone");
        if (label is not null && label.Length > 100) return new("label", "at most 100 characters");
        if (baseUrl is not null)
        {
            if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
                || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                return new("base_url", "base_url must be an absolute http(s) URL without query, fragment or credentials");
            }
            if (uri.Scheme != Uri.UriSchemeHttps && !allowInsecureUpstreams) return new("base_url", "base_url must use https");
            // "api.openai.com." is the same machine as "api.openai.com" to DNS but not to a host allow-list.
            if (uri.IdnHost.EndsWith('.')) return new("base_url", "base_url host must not end with a dot");
        }
        if (authKind != MasterKeyAuthKinds.Key && baseUrl is null && provider != "ollama")
        {
            return new("base_url", "base_url is required for this auth_kind");
        }

        return null;
    }

    private void Notify(string ownerId)
    {
        foreach (var listener in listeners) listener.OwnerSettingsChanged(ownerId);
    }

    public async Task<bool> RemoveAsync(string ownerId, string provider, string? clientAddress, CancellationToken ct)
    {
        if (await metadata.GetAsync(ownerId, provider, ct) is null) return false;
        await secrets.DeleteAsync(ownerId, provider, ct);
        await metadata.DeleteAsync(ownerId, provider, ct);
        Notify(ownerId);
        await audit.AppendAsync(ownerId, AuditEvents.KeyRemoved, ct, clientAddress: clientAddress, detail: provider);
        return true;
    }
}
