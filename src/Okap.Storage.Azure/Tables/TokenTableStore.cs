using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core.Tokens;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// Table <c>{prefix}tokens</c>, three rows per token, each a full copy of the record:
/// <list type="bullet">
/// <item><c>h|{hash[0..2]}</c> / <c>{hash}</c>: the data-plane row, found in one point read by hash.</item>
/// <item><c>o|{ownerId}</c> / <c>id|{tokenId}</c>: owner-scoped lookup by id.</item>
/// <item><c>o|{ownerId}</c> / <c>t|{invertedCreatedAt}|{tokenId}</c>: owner listing, newest first.</item>
/// </list>
/// The two owner rows share a partition and always change in one transaction. The hash row lives elsewhere, so
/// the order of writes is chosen to fail safe: it is written last on creation (a token is usable only once it is
/// fully listed) and first on revocation and deletion (a token stops working before anything else changes).
/// </summary>
internal sealed class TokenTableStore(TableClient table) : ITokenStore
{
    private const string IdPrefix = "id|";
    private const string TimePrefix = "t|";
    private const int MaxAttempts = 10;

    public Task CreateAsync(TokenRecord token, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var (hashRow, idRow, listRow) = ToEntities(token);
            try
            {
                await table.SubmitTransactionAsync(
                    [new TableTransactionAction(TableTransactionActionType.Add, idRow), new TableTransactionAction(TableTransactionActionType.Add, listRow)], ct)
                    .ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.Conflict))
            {
                throw new InvalidOperationException("A token with this id already exists.", e);
            }
            try
            {
                await table.AddEntityAsync(hashRow, ct).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Without its hash row the token can never be used; remove the owner rows so it is not listed either.
                await DeleteOwnerRowsAsync(idRow.PartitionKey, idRow.RowKey, listRow.RowKey, CancellationToken.None).ConfigureAwait(false);
                if (e is RequestFailedException r && r.IsStatus(HttpStatusCode.Conflict))
                {
                    throw new InvalidOperationException("A token with this hash already exists.", e);
                }
                throw;
            }
        }, ct);

    public Task<TokenRecord?> FindByHashAsync(string hash, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.HashPartition(hash), TableKeys.Escape(hash), ct).ConfigureAwait(false);
            return row is null ? null : ToToken(row);
        }, ct);

    public Task<TokenRecord?> GetAsync(string ownerId, string tokenId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.Owner(ownerId), IdPrefix + TableKeys.Escape(tokenId), ct).ConfigureAwait(false);
            return row is null ? null : ToToken(row);
        }, ct);

    public Task<Okap.Core.Page<TokenRecord>> ListAsync(string ownerId, int pageSize, string? continuationToken, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var (rows, next) = await table.PageAsync(TableKeys.Owner(ownerId), TimePrefix, null, pageSize, continuationToken, ct).ConfigureAwait(false);
            return new Okap.Core.Page<TokenRecord>(rows.Select(ToToken).ToList(), next);
        }, ct);

    public Task<TokenRecord?> RevokeAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var partition = TableKeys.Owner(ownerId);
            var idKey = IdPrefix + TableKeys.Escape(tokenId);
            var idRow = await table.GetAsync(partition, idKey, ct).ConfigureAwait(false);
            if (idRow is null) return null;
            var hash = idRow.Required("Hash");

            // 1. The hash row first: from here on the data plane refuses the token, whatever happens next.
            var revokedAt = await MergeWhileAsync(TableKeys.HashPartition(hash), [TableKeys.Escape(hash)],
                row => row.GetDateTimeOffset("RevokedAt") is null ? Patch(row, "RevokedAt", at) : null, ct).ConfigureAwait(false)
                is { } hashRow ? hashRow.GetDateTimeOffset("RevokedAt") ?? at : idRow.GetDateTimeOffset("RevokedAt") ?? at;

            // 2. Then both owner rows together, with the same instant (idempotent: an earlier instant is kept).
            var listKey = ListKey(idRow);
            await MergeWhileAsync(partition, [idKey, listKey],
                row => row.GetDateTimeOffset("RevokedAt") is null ? Patch(row, "RevokedAt", revokedAt) : null, ct).ConfigureAwait(false);

            var stored = await table.GetAsync(partition, idKey, ct).ConfigureAwait(false);
            return stored is null ? null : ToToken(stored);
        }, ct);

    public Task<TokenRecord?> ReplaceGrantsAsync(string ownerId, string tokenId, IReadOnlyList<Grant> expected, IReadOnlyList<Grant> grants,
        DateTimeOffset? expiresAt, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var partition = TableKeys.Owner(ownerId);
            var idKey = IdPrefix + TableKeys.Escape(tokenId);
            var idRow = await table.GetAsync(partition, idKey, ct).ConfigureAwait(false);
            if (idRow is null) return null;
            var hash = idRow.Required("Hash");
            var before = TableOps.ToJson(expected, StorageJsonContext.Default.IReadOnlyListGrant);
            var after = TableOps.ToJson(grants, StorageJsonContext.Default.IReadOnlyListGrant);
            Func<TableEntity, TableEntity?> replace = row => row.GetString("Grants") == before
                ? new TableEntity(row.PartitionKey, row.RowKey) { ["Grants"] = after, ["ExpiresAt"] = expiresAt, ETag = row.ETag }
                : null;

            // 1. The hash row first: the data plane is narrowed before anything else changes.
            var hashRow = await MergeWhileAsync(TableKeys.HashPartition(hash), [TableKeys.Escape(hash)], replace, ct).ConfigureAwait(false);
            // 2. The owner rows follow only if the hash row now holds this change (it may hold it from an earlier,
            //    interrupted attempt of the same change); a different change won the race otherwise.
            if (hashRow is not null && hashRow.GetString("Grants") == after)
            {
                await MergeWhileAsync(partition, [idKey, ListKey(idRow)], replace, ct).ConfigureAwait(false);
            }
            var stored = await table.GetAsync(partition, idKey, ct).ConfigureAwait(false);
            return stored is null ? null : ToToken(stored);
        }, ct);

    public Task TouchAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var partition = TableKeys.Owner(ownerId);
            var idKey = IdPrefix + TableKeys.Escape(tokenId);
            var idRow = await table.GetAsync(partition, idKey, ct).ConfigureAwait(false);
            if (idRow is null) return;
            var hash = idRow.Required("Hash");
            Func<TableEntity, TableEntity?> raise = row => row.GetDateTimeOffset("LastUsedAt") is { } last && last >= at ? null : Patch(row, "LastUsedAt", at);
            await MergeWhileAsync(partition, [idKey, ListKey(idRow)], raise, ct).ConfigureAwait(false);
            await MergeWhileAsync(TableKeys.HashPartition(hash), [TableKeys.Escape(hash)], raise, ct).ConfigureAwait(false);
        }, ct);

    public Task DeleteAsync(string ownerId, string tokenId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var partition = TableKeys.Owner(ownerId);
            var idKey = IdPrefix + TableKeys.Escape(tokenId);
            var idRow = await table.GetAsync(partition, idKey, ct).ConfigureAwait(false);
            if (idRow is null) return;
            var hash = idRow.Required("Hash");
            await DeleteIfExistsAsync(TableKeys.HashPartition(hash), TableKeys.Escape(hash), ct).ConfigureAwait(false);
            await DeleteOwnerRowsAsync(partition, idKey, ListKey(idRow), ct).ConfigureAwait(false);
        }, ct);

    private static string ListKey(TableEntity idRow) =>
        TimePrefix + TableKeys.Inverted(idRow.RequiredTime("CreatedAt")) + TableKeys.Separator + TableKeys.Escape(idRow.Required("Id"));

    private static TableEntity Patch(TableEntity row, string name, DateTimeOffset value) =>
        new(row.PartitionKey, row.RowKey) { [name] = value, ETag = row.ETag };

    /// <summary>
    /// Optimistic merge of rows of one partition: reads them, asks <paramref name="change"/> for a patch per row
    /// (null: leave it) and merges all patches in one transaction guarded by each row's ETag; retries on 412.
    /// Returns the first row as it now stands (null when it does not exist).
    /// </summary>
    private async Task<TableEntity?> MergeWhileAsync(string partition, string[] rowKeys, Func<TableEntity, TableEntity?> change, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var rows = await Task.WhenAll(rowKeys.Select(k => table.GetAsync(partition, k, ct))).ConfigureAwait(false);
            var actions = new List<TableTransactionAction>();
            foreach (var row in rows)
            {
                if (row is null) continue;
                if (change(row) is { } patch) actions.Add(new TableTransactionAction(TableTransactionActionType.UpdateMerge, patch, row.ETag));
            }
            var first = rows[0];
            if (actions.Count == 0) return first;
            try
            {
                if (actions.Count == 1)
                {
                    await table.UpdateEntityAsync(actions[0].Entity, actions[0].ETag, TableUpdateMode.Merge, ct).ConfigureAwait(false);
                }
                else
                {
                    await table.SubmitTransactionAsync(actions, ct).ConfigureAwait(false);
                }
                if (first is not null && change(first) is { } applied)
                {
                    foreach (var (key, value) in applied)
                    {
                        if (key is not ("PartitionKey" or "RowKey" or "odata.etag")) first[key] = value;
                    }
                }
                return first;
            }
            catch (RequestFailedException e) when (attempt < MaxAttempts && (e.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound))
            {
                await Task.Delay(TableOps.Backoff(attempt, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(500)), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task DeleteOwnerRowsAsync(string partition, string idKey, string listKey, CancellationToken ct)
    {
        try
        {
            await table.SubmitTransactionAsync(
                [
                    new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, idKey), ETag.All),
                    new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, listKey), ETag.All),
                ], ct).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.NotFound))
        {
            // One of them was already gone (an earlier partial delete): remove whatever is left one by one.
            await DeleteIfExistsAsync(partition, idKey, ct).ConfigureAwait(false);
            await DeleteIfExistsAsync(partition, listKey, ct).ConfigureAwait(false);
        }
    }

    private async Task DeleteIfExistsAsync(string partition, string rowKey, CancellationToken ct)
    {
        try
        {
            await table.DeleteEntityAsync(partition, rowKey, ETag.All, ct).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.NotFound))
        {
        }
    }

    private static (TableEntity Hash, TableEntity Id, TableEntity List) ToEntities(TokenRecord t)
    {
        var partition = TableKeys.Owner(t.OwnerId);
        var id = new TableEntity(partition, IdPrefix + TableKeys.Escape(t.Id))
        {
            ["Id"] = t.Id,
            ["Hash"] = t.Hash,
            ["OwnerId"] = t.OwnerId,
            ["RequestId"] = t.RequestId,
            ["AppName"] = t.AppName,
            ["AppUrl"] = t.AppUrl,
            ["DisplayPrefix"] = t.DisplayPrefix,
            ["Grants"] = TableOps.ToJson(t.Grants, StorageJsonContext.Default.IReadOnlyListGrant),
            ["CreatedAt"] = t.CreatedAt,
            ["ExpiresAt"] = t.ExpiresAt,
            ["RevokedAt"] = t.RevokedAt,
            ["LastUsedAt"] = t.LastUsedAt,
        };
        var list = TableOps.CopyAs(id, partition, ListKey(id));
        var hash = TableOps.CopyAs(id, TableKeys.HashPartition(t.Hash), TableKeys.Escape(t.Hash));
        return (hash, id, list);
    }

    private static TokenRecord ToToken(TableEntity row) => new()
    {
        Id = row.Required("Id"),
        Hash = row.Required("Hash"),
        OwnerId = row.Required("OwnerId"),
        RequestId = row.GetString("RequestId"),
        AppName = row.Required("AppName"),
        AppUrl = row.GetString("AppUrl"),
        DisplayPrefix = row.GetString("DisplayPrefix") ?? "",
        Grants = TableOps.FromJson(row.GetString("Grants"), StorageJsonContext.Default.IReadOnlyListGrant, []),
        CreatedAt = row.RequiredTime("CreatedAt"),
        ExpiresAt = row.GetDateTimeOffset("ExpiresAt"),
        RevokedAt = row.GetDateTimeOffset("RevokedAt"),
        LastUsedAt = row.GetDateTimeOffset("LastUsedAt"),
    };
}
