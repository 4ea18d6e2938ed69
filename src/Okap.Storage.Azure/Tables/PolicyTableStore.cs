using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core.Policies;
using Okap.Core.Tokens;

namespace Okap.Storage.Azure.Tables;

/// <summary>Table <c>{prefix}policies</c>: partition <c>o|{ownerId}</c>, row key = policy id; lists as JSON strings.</summary>
internal sealed class PolicyTableStore(TableClient table) : IPolicyStore
{
    public Task UpsertAsync(AutoApprovePolicy policy, CancellationToken ct) =>
        TableGuard.Run(() => table.UpsertEntityAsync(new TableEntity(TableKeys.Owner(policy.OwnerId), TableKeys.Escape(policy.Id))
        {
            ["Id"] = policy.Id,
            ["OwnerId"] = policy.OwnerId,
            ["Name"] = policy.Name,
            ["AppName"] = policy.AppName,
            ["Providers"] = TableOps.ToJson(policy.Providers, StorageJsonContext.Default.IReadOnlyListString),
            ["Models"] = TableOps.ToJson(policy.Models, StorageJsonContext.Default.IReadOnlyListString),
            ["Capabilities"] = TableOps.ToJson(policy.Capabilities, StorageJsonContext.Default.IReadOnlyListString),
            ["MaxLimits"] = TableOps.ToJson(policy.MaxLimits, StorageJsonContext.Default.Limits),
            ["MaxDays"] = policy.MaxDays,
            ["Enabled"] = policy.Enabled,
            ["CreatedAt"] = policy.CreatedAt,
        }, TableUpdateMode.Replace, ct), ct);

    public Task<AutoApprovePolicy?> GetAsync(string ownerId, string policyId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.Owner(ownerId), TableKeys.Escape(policyId), ct).ConfigureAwait(false);
            return row is null ? null : ToPolicy(row);
        }, ct);

    /// <summary>Oldest first (creation order, then id).</summary>
    public Task<IReadOnlyList<AutoApprovePolicy>> ListAsync(string ownerId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var rows = await table.QueryAllAsync(TableClient.CreateQueryFilter($"PartitionKey eq {TableKeys.Owner(ownerId)}"), ct).ConfigureAwait(false);
            return (IReadOnlyList<AutoApprovePolicy>)rows.Select(ToPolicy).OrderBy(p => p.CreatedAt).ThenBy(p => p.Id, StringComparer.Ordinal).ToList();
        }, ct);

    public Task<bool> DeleteAsync(string ownerId, string policyId, CancellationToken ct) =>
        TableGuard.Run(() => table.DeleteIfExistsAsync(TableKeys.Owner(ownerId), TableKeys.Escape(policyId), ct), ct);

    private static AutoApprovePolicy ToPolicy(TableEntity row) => new()
    {
        Id = row.Required("Id"),
        OwnerId = row.Required("OwnerId"),
        Name = row.Required("Name"),
        AppName = row.GetString("AppName"),
        Providers = TableOps.FromJson(row.GetString("Providers"), StorageJsonContext.Default.IReadOnlyListString, []),
        Models = TableOps.FromJson(row.GetString("Models"), StorageJsonContext.Default.IReadOnlyListString, []),
        Capabilities = TableOps.FromJson(row.GetString("Capabilities"), StorageJsonContext.Default.IReadOnlyListString, []),
        MaxLimits = TableOps.FromJson(row.GetString("MaxLimits"), StorageJsonContext.Default.Limits, Limits.None),
        MaxDays = row.GetInt32("MaxDays"),
        Enabled = row.GetBoolean("Enabled") ?? true,
        CreatedAt = row.RequiredTime("CreatedAt"),
    };
}
