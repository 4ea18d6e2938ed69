namespace Okap.Core.Policies;

/// <summary>Auto-approve policies.</summary>
public interface IPolicyStore
{
    Task UpsertAsync(AutoApprovePolicy policy, CancellationToken ct);
    Task<AutoApprovePolicy?> GetAsync(string ownerId, string policyId, CancellationToken ct);
    Task<IReadOnlyList<AutoApprovePolicy>> ListAsync(string ownerId, CancellationToken ct);
    Task<bool> DeleteAsync(string ownerId, string policyId, CancellationToken ct);
}
