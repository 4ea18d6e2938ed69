using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core.Audit;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// Table <c>{prefix}audit</c>: partition <c>o|{ownerId}</c>, row key <c>{(MaxTicks − atTicks):D19}|{eventId}</c>,
/// so a partition scan returns the newest entry first. Append-only (insert, never update).
/// </summary>
internal sealed class AuditTableStore(TableClient table) : IAuditStore
{
    public Task AppendAsync(AuditEvent entry, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = new TableEntity(TableKeys.Owner(entry.OwnerId), TableKeys.Inverted(entry.At) + TableKeys.Separator + TableKeys.Escape(entry.Id))
            {
                ["Id"] = entry.Id,
                ["OwnerId"] = entry.OwnerId,
                ["At"] = entry.At,
                ["Event"] = entry.Event,
                ["AppName"] = entry.AppName,
                ["ClientAddress"] = entry.ClientAddress,
                ["RequestId"] = entry.RequestId,
                ["TokenId"] = entry.TokenId,
                ["Detail"] = entry.Detail,
                ["Actor"] = entry.Actor,
            };
            try
            {
                await table.AddEntityAsync(row, ct).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.Conflict))
            {
                // The same entry appended twice (a retried write that had succeeded): append-only, keep the first.
            }
        }, ct);

    public Task<Okap.Core.Page<AuditEvent>> ListAsync(string ownerId, AuditQuery query, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var filters = new List<string>(2);
            if (query.AppName is { } app) filters.Add(TableClient.CreateQueryFilter($"AppName eq {app}"));
            if (query.Event is { } name) filters.Add(TableClient.CreateQueryFilter($"Event eq {name}"));
            var filter = filters.Count == 0 ? null : string.Join(" and ", filters);
            if (string.IsNullOrEmpty(query.Text))
            {
                var (rows, next) = await table.PageAsync(TableKeys.Owner(ownerId), "", filter, query.PageSize, query.ContinuationToken, ct).ConfigureAwait(false);
                return new Okap.Core.Page<AuditEvent>(rows.Select(ToEvent).ToList(), next);
            }
            var (found, after) = await table.ScanPageAsync(TableKeys.Owner(ownerId), "", filter, ToEvent, query.MatchesText, query.PageSize, query.ContinuationToken, ct).ConfigureAwait(false);
            return new Okap.Core.Page<AuditEvent>(found, after);
        }, ct);

    private static AuditEvent ToEvent(TableEntity row) => new()
    {
        Id = row.Required("Id"),
        OwnerId = row.Required("OwnerId"),
        At = row.RequiredTime("At"),
        Event = row.Required("Event"),
        AppName = row.GetString("AppName"),
        ClientAddress = row.GetString("ClientAddress"),
        RequestId = row.GetString("RequestId"),
        TokenId = row.GetString("TokenId"),
        Detail = row.GetString("Detail"),
        Actor = row.GetString("Actor"),
    };
}
