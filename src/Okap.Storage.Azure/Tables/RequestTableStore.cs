using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core.Requests;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// Table <c>{prefix}requests</c>, one partition per owner (<c>o|{ownerId}</c>) with two rows per request, always
/// written together in one entity-group transaction:
/// <list type="bullet">
/// <item><c>id|{requestId}</c>: the request; its ETag is <see cref="AccessRequest.ConcurrencyStamp"/>.</item>
/// <item><c>t|{invertedCreatedAt}|{requestId}</c>: a copy for listing newest first.</item>
/// </list>
/// </summary>
internal sealed class RequestTableStore(TableClient table) : IRequestStore
{
    private const string IdPrefix = "id|";
    private const string TimePrefix = "t|";

    public Task CreateAsync(AccessRequest request, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var (idRow, listRow) = ToEntities(request);
            try
            {
                await table.SubmitTransactionAsync(
                    [new TableTransactionAction(TableTransactionActionType.Add, idRow), new TableTransactionAction(TableTransactionActionType.Add, listRow)], ct)
                    .ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.Conflict))
            {
                throw new InvalidOperationException("An access request with this id already exists.", e);
            }
        }, ct);

    public Task<AccessRequest?> GetAsync(string ownerId, string requestId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.Owner(ownerId), IdPrefix + TableKeys.Escape(requestId), ct).ConfigureAwait(false);
            return row is null ? null : ToRequest(row, row.ETag.ToString());
        }, ct);

    public Task<Okap.Core.Page<AccessRequest>> ListAsync(string ownerId, RequestStatus? status, int pageSize, string? continuationToken, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var filter = status is { } s ? TableClient.CreateQueryFilter($"Status eq {s.ToString()}") : null;
            var (rows, next) = await table.PageAsync(TableKeys.Owner(ownerId), TimePrefix, filter, pageSize, continuationToken, ct).ConfigureAwait(false);
            return new Okap.Core.Page<AccessRequest>(rows.Select(r => ToRequest(r, null)).ToList(), next);
        }, ct);

    public Task<Okap.Core.Page<AccessRequest>> SearchAsync(string ownerId, RequestStatus? status, string text, int pageSize, string? continuationToken, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var filter = status is { } s ? TableClient.CreateQueryFilter($"Status eq {s.ToString()}") : null;
            var (found, next) = await table.ScanPageAsync(TableKeys.Owner(ownerId), TimePrefix, filter, r => ToRequest(r, null),
                r => RequestSearch.Matches(r, text), pageSize, continuationToken, ct).ConfigureAwait(false);
            return new Okap.Core.Page<AccessRequest>(found, next);
        }, ct);

    public Task<bool> TryUpdateAsync(AccessRequest request, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            if (string.IsNullOrEmpty(request.ConcurrencyStamp)) return false;
            var (idRow, listRow) = ToEntities(request);
            try
            {
                // The id row is replaced only if its ETag still matches; the listing copy rides in the same
                // transaction, so both change or neither does.
                await table.SubmitTransactionAsync(
                    [
                        new TableTransactionAction(TableTransactionActionType.UpdateReplace, idRow, new ETag(request.ConcurrencyStamp)),
                        new TableTransactionAction(TableTransactionActionType.UpsertReplace, listRow),
                    ], ct).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (e.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
            {
                return false;
            }
        }, ct);

    private static (TableEntity IdRow, TableEntity ListRow) ToEntities(AccessRequest r)
    {
        var partition = TableKeys.Owner(r.OwnerId);
        var idRow = new TableEntity(partition, IdPrefix + TableKeys.Escape(r.Id))
        {
            ["Id"] = r.Id,
            ["OwnerId"] = r.OwnerId,
            ["Shape"] = r.Shape.ToString(),
            ["AppName"] = r.AppName,
            ["AppUrl"] = r.AppUrl,
            ["RedirectUri"] = r.RedirectUri,
            ["Reason"] = r.Reason,
            ["ClientAddress"] = r.ClientAddress,
            ["Requested"] = TableOps.ToJson(r.Requested, StorageJsonContext.Default.IReadOnlyListGrant),
            ["Granted"] = r.Granted is null ? null : TableOps.ToJson(r.Granted, StorageJsonContext.Default.IReadOnlyListGrant),
            ["Status"] = r.Status.ToString(),
            ["CreatedAt"] = r.CreatedAt,
            ["ExpiresAt"] = r.ExpiresAt,
            ["DecidedAt"] = r.DecidedAt,
            ["DecidedBy"] = r.DecidedBy,
            ["DenyReason"] = r.DenyReason,
            ["PollHandleHash"] = r.PollHandleHash,
            ["TokenId"] = r.TokenId,
            ["ClaimedAt"] = r.ClaimedAt,
        };
        var listRow = TableOps.CopyAs(idRow, partition, TimePrefix + TableKeys.Inverted(r.CreatedAt) + TableKeys.Separator + TableKeys.Escape(r.Id));
        return (idRow, listRow);
    }

    private static AccessRequest ToRequest(TableEntity row, string? stamp) => new()
    {
        Id = row.Required("Id"),
        OwnerId = row.Required("OwnerId"),
        Shape = Enum.Parse<RequestShape>(row.Required("Shape")),
        AppName = row.Required("AppName"),
        AppUrl = row.GetString("AppUrl"),
        RedirectUri = row.GetString("RedirectUri"),
        Reason = row.GetString("Reason"),
        ClientAddress = row.GetString("ClientAddress"),
        Requested = TableOps.FromJson(row.GetString("Requested"), StorageJsonContext.Default.IReadOnlyListGrant, []),
        Granted = row.GetString("Granted") is { } granted ? TableOps.FromJson(granted, StorageJsonContext.Default.IReadOnlyListGrant, []) : null,
        Status = Enum.Parse<RequestStatus>(row.Required("Status")),
        CreatedAt = row.RequiredTime("CreatedAt"),
        ExpiresAt = row.RequiredTime("ExpiresAt"),
        DecidedAt = row.GetDateTimeOffset("DecidedAt"),
        DecidedBy = row.GetString("DecidedBy"),
        DenyReason = row.GetString("DenyReason"),
        PollHandleHash = row.GetString("PollHandleHash"),
        TokenId = row.GetString("TokenId"),
        ClaimedAt = row.GetDateTimeOffset("ClaimedAt"),
        ConcurrencyStamp = stamp,
    };
}
