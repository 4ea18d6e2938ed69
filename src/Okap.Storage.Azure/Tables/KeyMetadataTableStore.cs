using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core.Keys;

namespace Okap.Storage.Azure.Tables;

/// <summary>Table <c>{prefix}keys</c>: partition <c>o|{ownerId}</c>, row key = provider. Metadata only, never a key.</summary>
internal sealed class KeyMetadataTableStore(TableClient table) : IKeyMetadataStore
{
    public Task UpsertAsync(MasterKeyInfo key, CancellationToken ct) =>
        TableGuard.Run(() => table.UpsertEntityAsync(new TableEntity(TableKeys.Owner(key.OwnerId), TableKeys.Escape(key.Provider))
        {
            ["OwnerId"] = key.OwnerId,
            ["Provider"] = key.Provider,
            ["Label"] = key.Label,
            ["Last4"] = key.Last4,
            ["BaseUrl"] = key.BaseUrl,
            ["AuthKind"] = key.AuthKind,
            ["CreatedAt"] = key.CreatedAt,
            ["UpdatedAt"] = key.UpdatedAt,
        }, TableUpdateMode.Replace, ct), ct);

    public Task<MasterKeyInfo?> GetAsync(string ownerId, string provider, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.Owner(ownerId), TableKeys.Escape(provider), ct).ConfigureAwait(false);
            return row is null ? null : ToInfo(row);
        }, ct);

    public Task<IReadOnlyList<MasterKeyInfo>> ListAsync(string ownerId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var rows = await table.QueryAllAsync(TableClient.CreateQueryFilter($"PartitionKey eq {TableKeys.Owner(ownerId)}"), ct).ConfigureAwait(false);
            return (IReadOnlyList<MasterKeyInfo>)rows.Select(ToInfo).OrderBy(k => k.Provider, StringComparer.Ordinal).ToList();
        }, ct);

    public Task<bool> DeleteAsync(string ownerId, string provider, CancellationToken ct) =>
        TableGuard.Run(() => table.DeleteIfExistsAsync(TableKeys.Owner(ownerId), TableKeys.Escape(provider), ct), ct);

    private static MasterKeyInfo ToInfo(TableEntity row) => new()
    {
        OwnerId = row.Required("OwnerId"),
        Provider = row.Required("Provider"),
        Label = row.GetString("Label"),
        Last4 = row.GetString("Last4") ?? "",
        BaseUrl = row.GetString("BaseUrl"),
        AuthKind = row.GetString("AuthKind") ?? MasterKeyAuthKinds.Key,
        CreatedAt = row.RequiredTime("CreatedAt"),
        UpdatedAt = row.RequiredTime("UpdatedAt"),
    };
}
