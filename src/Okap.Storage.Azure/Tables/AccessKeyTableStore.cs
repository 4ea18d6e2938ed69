using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core.Accounts;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// Table <c>{prefix}accesskeys</c>: hash row <c>h|{hash[0..2]}</c> / <c>{hash}</c> (one point read when a key is
/// presented) and owner row <c>o|{ownerId}</c> / <c>{keyId}</c>. Same write order as tokens: hash row last on
/// creation, first on revocation.
/// </summary>
internal sealed class AccessKeyTableStore(TableClient table) : IAccessKeyStore
{
    public Task CreateAsync(PersonalAccessKey key, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var ownerRow = ToEntity(key, TableKeys.Owner(key.OwnerId), TableKeys.Escape(key.Id));
            try
            {
                await table.AddEntityAsync(ownerRow, ct).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.Conflict))
            {
                throw new InvalidOperationException("An access key with this id already exists.", e);
            }
            try
            {
                await table.AddEntityAsync(ToEntity(key, TableKeys.HashPartition(key.Hash), TableKeys.Escape(key.Hash)), ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                try { await table.DeleteEntityAsync(ownerRow.PartitionKey, ownerRow.RowKey, ETag.All, CancellationToken.None).ConfigureAwait(false); }
                catch (RequestFailedException) { }
                if (e is RequestFailedException r && r.IsStatus(HttpStatusCode.Conflict)) throw new InvalidOperationException("An access key with this hash already exists.", e);
                throw;
            }
        }, ct);

    public Task<PersonalAccessKey?> FindByHashAsync(string hash, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.HashPartition(hash), TableKeys.Escape(hash), ct).ConfigureAwait(false);
            return row is null ? null : ToKey(row);
        }, ct);

    /// <summary>Newest first.</summary>
    public Task<IReadOnlyList<PersonalAccessKey>> ListAsync(string ownerId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var rows = await table.QueryAllAsync(TableClient.CreateQueryFilter($"PartitionKey eq {TableKeys.Owner(ownerId)}"), ct).ConfigureAwait(false);
            return (IReadOnlyList<PersonalAccessKey>)rows.Select(ToKey).OrderByDescending(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal).ToList();
        }, ct);

    /// <summary>True when the key exists (it is revoked afterwards; an earlier revocation instant is kept).</summary>
    public Task<bool> RevokeAsync(string ownerId, string keyId, DateTimeOffset at, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var ownerRow = await table.GetAsync(TableKeys.Owner(ownerId), TableKeys.Escape(keyId), ct).ConfigureAwait(false);
            if (ownerRow is null) return false;
            var hash = ownerRow.Required("Hash");
            var revokedAt = await RevokeRowAsync(TableKeys.HashPartition(hash), TableKeys.Escape(hash), at, ct).ConfigureAwait(false) ?? at;
            await RevokeRowAsync(ownerRow.PartitionKey, ownerRow.RowKey, revokedAt, ct).ConfigureAwait(false);
            return true;
        }, ct);

    /// <summary>
    /// Merges LastUsedAt into both rows, unconditionally: a lost race only loses a few minutes of "last used" (never
    /// a revocation, which this merge does not carry). The hash row first, as authentication reads it.
    /// </summary>
    public Task MarkUsedAsync(PersonalAccessKey key, DateTimeOffset at, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            foreach (var (partition, rowKey) in new[] { (TableKeys.HashPartition(key.Hash), TableKeys.Escape(key.Hash)), (TableKeys.Owner(key.OwnerId), TableKeys.Escape(key.Id)) })
            {
                try
                {
                    await table.UpdateEntityAsync(new TableEntity(partition, rowKey) { ["LastUsedAt"] = at }, ETag.All, TableUpdateMode.Merge, ct).ConfigureAwait(false);
                }
                catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.NotFound))
                {
                    // Deleted meanwhile: nothing to mark.
                }
            }
        }, ct);

    /// <summary>Sets RevokedAt unless already set (ETag-guarded); returns the instant now stored, or null when the row is missing.</summary>
    private async Task<DateTimeOffset?> RevokeRowAsync(string partition, string rowKey, DateTimeOffset at, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var row = await table.GetAsync(partition, rowKey, ct).ConfigureAwait(false);
            if (row is null) return null;
            if (row.GetDateTimeOffset("RevokedAt") is { } existing) return existing;
            try
            {
                await table.UpdateEntityAsync(new TableEntity(partition, rowKey) { ["RevokedAt"] = at }, row.ETag, TableUpdateMode.Merge, ct).ConfigureAwait(false);
                return at;
            }
            catch (RequestFailedException e) when (attempt < 10 && e.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
            {
                await Task.Delay(TableOps.Backoff(attempt, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(500)), ct).ConfigureAwait(false);
            }
        }
    }

    private static TableEntity ToEntity(PersonalAccessKey k, string partition, string rowKey) => new(partition, rowKey)
    {
        ["Id"] = k.Id,
        ["OwnerId"] = k.OwnerId,
        ["Name"] = k.Name,
        ["Hash"] = k.Hash,
        ["DisplayPrefix"] = k.DisplayPrefix,
        ["CreatedAt"] = k.CreatedAt,
        ["ExpiresAt"] = k.ExpiresAt,
        ["RevokedAt"] = k.RevokedAt,
        // Space-separated; absent on keys from before scopes (they act with AccessKeyScopes.Legacy).
        ["Scopes"] = k.Scopes is null ? null : string.Join(' ', k.Scopes),
        ["LastUsedAt"] = k.LastUsedAt,
    };

    private static PersonalAccessKey ToKey(TableEntity row) => new()
    {
        Id = row.Required("Id"),
        OwnerId = row.Required("OwnerId"),
        Name = row.Required("Name"),
        Hash = row.Required("Hash"),
        DisplayPrefix = row.GetString("DisplayPrefix") ?? "",
        CreatedAt = row.RequiredTime("CreatedAt"),
        ExpiresAt = row.GetDateTimeOffset("ExpiresAt"),
        RevokedAt = row.GetDateTimeOffset("RevokedAt"),
        Scopes = row.GetString("Scopes") is { } scopes ? scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries) : null,
        LastUsedAt = row.GetDateTimeOffset("LastUsedAt"),
    };
}
