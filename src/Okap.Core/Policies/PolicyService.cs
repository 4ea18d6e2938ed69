using Okap.Core.Audit;

namespace Okap.Core.Policies;

/// <summary>An owner's auto-approve policies.</summary>
public sealed class PolicyService(IPolicyStore policies, AuditLog audit, TimeProvider time)
{
    public Task<IReadOnlyList<AutoApprovePolicy>> ListAsync(string ownerId, CancellationToken ct) => policies.ListAsync(ownerId, ct);

    public Task<AutoApprovePolicy?> GetAsync(string ownerId, string id, CancellationToken ct) => policies.GetAsync(ownerId, id, ct);

    /// <summary>Creates a policy (<paramref name="id"/> null) or replaces an existing one of this owner.</summary>
    public async Task<Result<AutoApprovePolicy>> SaveAsync(string ownerId, string? id, AutoApprovePolicy draft, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(draft.Name) || draft.Name.Length > 100) return Result<AutoApprovePolicy>.Invalid("name", "name is 1 to 100 characters");
        if (draft.AppName is { Length: > 200 }) return Result<AutoApprovePolicy>.Invalid("app_name", "at most 200 characters");
        if (draft.Providers.Count == 0) return Result<AutoApprovePolicy>.Invalid("providers", "name at least one provider");
        for (var i = 0; i < draft.Providers.Count; i++)
        {
            if (!Protocol.OkapCatalog.Providers.Contains(draft.Providers[i])) return Result<AutoApprovePolicy>.Invalid($"providers[{i}]", "unknown provider");
        }
        for (var i = 0; i < draft.Capabilities.Count; i++)
        {
            if (!Protocol.OkapCatalog.Capabilities.Contains(draft.Capabilities[i])) return Result<AutoApprovePolicy>.Invalid($"capabilities[{i}]", "unknown capability");
        }
        if (draft.MaxDays is <= 0 or > 3650) return Result<AutoApprovePolicy>.Invalid("max_days", "max_days is 1 to 3650");

        AutoApprovePolicy? existing = null;
        if (id is not null)
        {
            existing = await policies.GetAsync(ownerId, id, ct);
            if (existing is null) return Result<AutoApprovePolicy>.NotFound();
        }
        var policy = draft with
        {
            Id = existing?.Id ?? Secrets.NewId("pol"),
            OwnerId = ownerId,
            Name = draft.Name.Trim(),
            AppName = string.IsNullOrWhiteSpace(draft.AppName) ? null : draft.AppName.Trim(),
            CreatedAt = existing?.CreatedAt ?? time.GetUtcNow(),
        };
        await policies.UpsertAsync(policy, ct);
        await audit.AppendAsync(ownerId, existing is null ? AuditEvents.PolicyCreated : AuditEvents.PolicyUpdated, ct, policy.AppName, detail: policy.Name);
        return Result<AutoApprovePolicy>.Ok(policy);
    }

    public async Task<bool> RemoveAsync(string ownerId, string id, CancellationToken ct)
    {
        var existing = await policies.GetAsync(ownerId, id, ct);
        if (existing is null || !await policies.DeleteAsync(ownerId, id, ct)) return false;
        await audit.AppendAsync(ownerId, AuditEvents.PolicyRemoved, ct, existing.AppName, detail: existing.Name);
        return true;
    }
}
