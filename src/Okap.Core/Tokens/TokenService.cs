using Okap.Core.Audit;
using Okap.Core.Notifications;
using Okap.Core.Requests;

namespace Okap.Core.Tokens;

/// <summary>An owner's view of issued tokens, and revocation.</summary>
public sealed class TokenService(ITokenStore tokens, AuditLog audit, VaultEvents events, TimeProvider time)
{
    public Task<Page<TokenRecord>> ListAsync(string ownerId, int pageSize, string? continuation, CancellationToken ct) =>
        tokens.ListAsync(ownerId, Math.Clamp(pageSize, 1, 200), continuation, ct);

    public Task<TokenRecord?> GetAsync(string ownerId, string tokenId, CancellationToken ct) => tokens.GetAsync(ownerId, tokenId, ct);

    /// <summary>Revokes at once; revoking again is harmless and keeps the first revocation time.</summary>
    public async Task<TokenRecord?> RevokeAsync(string ownerId, string tokenId, string? clientAddress, CancellationToken ct)
    {
        var before = await tokens.GetAsync(ownerId, tokenId, ct);
        if (before is null) return null;
        var after = await tokens.RevokeAsync(ownerId, tokenId, time.GetUtcNow(), ct);
        if (after is not null && before.RevokedAt is null)
        {
            await audit.AppendAsync(ownerId, AuditEvents.TokenRevoked, ct, after.AppName, clientAddress, after.RequestId, after.Id);
            await events.PublishAsync(new VaultEvent(VaultEventTypes.TokenRevoked, ownerId, VaultEventTypes.TokenRevoked + ":" + after.Id, after.RevokedAt ?? time.GetUtcNow(),
                new Dictionary<string, string?> { ["token_id"] = after.Id, ["app_name"] = after.AppName, ["request_id"] = after.RequestId }), ct);
        }
        return after;
    }

    /// <summary>
    /// Narrows an active token: fewer providers, models or capabilities, lower limits, an earlier expiry. Limits and
    /// expiry left out of a grant keep their current value. Widening anything is refused: that is a new consent, so
    /// the app must ask again. The data plane sees the narrowed grants on its next token refresh (about a second).
    /// </summary>
    public async Task<Result<TokenRecord>> NarrowAsync(string ownerId, string tokenId, IReadOnlyList<Grant> grants, string? clientAddress, CancellationToken ct)
    {
        var current = await tokens.GetAsync(ownerId, tokenId, ct);
        if (current is null) return Result<TokenRecord>.NotFound();
        var now = time.GetUtcNow();
        if (current.RevokedAt is not null) return Result<TokenRecord>.Conflict("the token is revoked");
        if (current.ExpiresAt is { } expired && expired <= now) return Result<TokenRecord>.Conflict("the token has expired");
        if (grants.Count == 0) return Result<TokenRecord>.Invalid("grants", "keep at least one provider, or revoke the token");

        var narrowed = new Grant[grants.Count];
        for (var i = 0; i < grants.Count; i++)
        {
            var held = current.Grants.FirstOrDefault(g => g.Provider == grants[i].Provider);
            if (held is null) return Result<TokenRecord>.Invalid($"grants[{i}].provider", "the token has no grant for this provider");
            if (grants.Take(i).Any(g => g.Provider == grants[i].Provider)) return Result<TokenRecord>.Invalid($"grants[{i}].provider", "provider named twice");
            narrowed[i] = GrantRules.InheritOmitted(held, grants[i]);
            if (GrantRules.WiderField(held, narrowed[i]) is { } field)
            {
                return Result<TokenRecord>.Invalid($"grants[{i}].{field}", $"{field} may only be narrowed; to widen it the app must ask again");
            }
            if (narrowed[i].ExpiresAt is { } at && at <= now) return Result<TokenRecord>.Invalid($"grants[{i}].expires", "expiry must be in the future; revoke the token to end it now");
        }
        var expiresAt = narrowed.Min(g => g.ExpiresAt);
        var stored = await tokens.ReplaceGrantsAsync(ownerId, tokenId, current.Grants, narrowed, expiresAt, ct);
        if (stored is null) return Result<TokenRecord>.NotFound();
        if (AccessRequestService.Fingerprint(stored.Grants) != AccessRequestService.Fingerprint(narrowed))
        {
            return Result<TokenRecord>.Conflict("the token was changed at the same time; reload it and try again");
        }
        await audit.AppendAsync(ownerId, AuditEvents.TokenNarrowed, ct, stored.AppName, clientAddress, stored.RequestId, stored.Id,
            detail: string.Join("; ", Changes(current.Grants, narrowed)));
        return Result<TokenRecord>.Ok(stored);
    }

    /// <summary>What a narrowing changed, per provider, for the audit trail.</summary>
    private static IEnumerable<string> Changes(IReadOnlyList<Grant> before, IReadOnlyList<Grant> after)
    {
        foreach (var old in before)
        {
            var now = after.FirstOrDefault(g => g.Provider == old.Provider);
            if (now is null) { yield return old.Provider + " removed"; continue; }
            var parts = new List<string>();
            if (!old.Models.SequenceEqual(now.Models)) parts.Add("models " + (now.Models.Count == 0 ? "all" : string.Join(",", now.Models)));
            if (!old.Capabilities.SequenceEqual(now.Capabilities)) parts.Add("capabilities " + string.Join(",", now.Capabilities));
            if (old.Limits != now.Limits) parts.Add("limits");
            if (old.ExpiresAt != now.ExpiresAt) parts.Add("expiry " + now.ExpiresAt?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            if (parts.Count > 0) yield return old.Provider + ": " + string.Join(", ", parts);
        }
    }
}
