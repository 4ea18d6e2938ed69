using System.Globalization;
using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Metering;
using Okap.Core.Tokens;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// Table <c>{prefix}usage</c>: partition <c>o|{ownerId}</c>, row key <c>{period}|{grantKey}|{shard:D2}</c>.
/// <list type="bullet">
/// <item>Period first, so "all counters of an owner since a period" is one row-key range of one partition.</item>
/// <item>Sharded: every (grant, period) counter is split over <see cref="AzureStorageOptions.UsageShards"/> rows.
/// A writer picks one shard at random (a new one on each retry); readers sum the shards. A busy app's flushes
/// land on different entities, so they do not serialise on one ETag.</item>
/// <item>One call's rows of one owner (e.g. the day and month counter of a grant) use the same shard and commit
/// in one entity-group transaction: all of them change or none.</item>
/// <item>Read-modify-write guarded by ETags (412/409 → re-read, jittered exponential back-off, bounded attempts);
/// an increment is never lost, and a failed call changed nothing in the transaction that failed.</item>
/// <item>Exactly-once batches (<see cref="AddBatchAsync"/>): each transaction also replaces the row
/// <c>w|{writerId}</c> of its owner partition with the batch's sequence number and chunk, so a retried transaction
/// whose first reply was lost finds its own mark and adds nothing. The mark records when it was written (<c>At</c>), and
/// a row in partition <c>wx|{day}</c> names each (owner, writer) that wrote a mark that day, so
/// <see cref="SweepWritersAsync"/> finds old marks with one key-range query instead of scanning every owner.</item>
/// <item>Budget leases: one row <c>l|{grantKey}</c> per grant in the owner partition, its <c>State</c> document replaced
/// only under its ETag. Neither kind of row falls in a period's row-key range.</item>
/// </list>
/// </summary>
internal sealed class UsageTableStore(TableClient table, int shards, int maxAttempts, TimeProvider time) : IUsageStore
{
    // Partitions of the mark index: "wx|" + the UTC day a writer wrote marks in an owner's partition.
    private const string MarkIndexPrefix = "wx" + "|";
    // (owner, writer) → the last day this process indexed it: at most one index write per pair and day.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Owner, string Writer), string> _indexed = new();
    // One slot of each entity-group transaction is kept for the writer's mark.
    private const int MaxTransactionSize = 99;
    // A transaction's mark: batch sequence number and chunk index in one ordered number.
    private const long ChunksPerBatch = 4096;
    private long _conflicts;

    /// <summary>How many optimistic attempts lost to a concurrent writer (412/409) and were retried.</summary>
    internal long ConflictRetries => Interlocked.Read(ref _conflicts);

    public Task AddAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct) => AddCoreAsync(deltas, null, 0, ct);

    public Task AddBatchAsync(UsageBatch batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentException.ThrowIfNullOrEmpty(batch.WriterId);
        return AddCoreAsync(batch.Deltas, batch.WriterId, batch.Seq, ct);
    }

    private Task AddCoreAsync(IReadOnlyList<UsageCounter> deltas, string? writer, long seq, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            // Same counter named twice in one call: add the deltas up first (one row per transaction).
            var merged = deltas
                .GroupBy(d => (d.OwnerId, d.GrantKey, d.Period))
                .Select(g => new UsageCounter(g.Key.OwnerId, g.Key.GrantKey, g.Key.Period,
                    g.Sum(d => d.Requests), g.Sum(d => d.InputTokens), g.Sum(d => d.OutputTokens), g.Sum(d => d.CostMicros)))
                .ToList();
            // Keep a grant's counters in one transaction; chunks hold at most 100 rows of one owner.
            var chunks = new List<(string Owner, List<UsageCounter> Rows)>();
            foreach (var owner in merged.GroupBy(d => d.OwnerId))
            {
                var chunk = new List<UsageCounter>();
                foreach (var grant in owner.GroupBy(d => d.GrantKey))
                {
                    var rows = grant.ToList();
                    if (chunk.Count + rows.Count > MaxTransactionSize && chunk.Count > 0)
                    {
                        chunks.Add((owner.Key, chunk));
                        chunk = [];
                    }
                    chunk.AddRange(rows);
                }
                if (chunk.Count > 0) chunks.Add((owner.Key, chunk));
            }
            var chunkOfOwner = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < chunks.Count; i++)
            {
                var n = chunkOfOwner.GetValueOrDefault(chunks[i].Owner);
                chunkOfOwner[chunks[i].Owner] = n + 1;
                try
                {
                    await AddChunkAsync(chunks[i].Owner, chunks[i].Rows, writer, seq * ChunksPerBatch + n, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (i > 0 && e is not OperationCanceledException)
                {
                    // Earlier transactions are committed: hand back only what is still to write.
                    var inner = TableGuard.IsUnavailable(e, ct) ? TableGuard.Unavailable(e) : e;
                    throw new UsagePartlyWrittenException(chunks.Skip(i).SelectMany(c => c.Rows).ToArray(), inner);
                }
            }
        }, ct);

    private async Task AddChunkAsync(string ownerId, List<UsageCounter> deltas, string? writer, long mark, CancellationToken ct)
    {
        var partition = TableKeys.Owner(ownerId);
        var markKey = writer is null ? null : MarkKey(writer);
        if (writer is not null) await IndexMarkAsync(ownerId, writer, ct).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var shard = shards == 1 ? 0 : Random.Shared.Next(shards);
            var keys = deltas.Select(d => RowKey(d.Period, d.GrantKey, shard)).ToArray();
            var markRead = markKey is null ? Task.FromResult<TableEntity?>(null) : table.GetAsync(partition, markKey, ct);
            var existing = await Task.WhenAll(keys.Select(k => table.GetAsync(partition, k, ct))).ConfigureAwait(false);
            var marked = await markRead.ConfigureAwait(false);
            if (marked?.GetInt64("Mark") >= mark)
            {
                // Committed before (its reply was lost): nothing to add. The writer is still retrying, so its mark must
                // outlive this retry too; a concurrent write of the mark (412) refreshed it anyway.
                try
                {
                    await table.UpdateEntityAsync(new TableEntity(partition, markKey!) { ["At"] = time.GetUtcNow() }, marked.ETag, TableUpdateMode.Merge, ct).ConfigureAwait(false);
                }
                catch (RequestFailedException e) when (TableOps.IsConflictOrPrecondition(e) || e.Status == (int)HttpStatusCode.NotFound)
                {
                }
                return;
            }
            var actions = new List<TableTransactionAction>(deltas.Count + 1);
            if (markKey is not null)
            {
                var entity = new TableEntity(partition, markKey) { ["Mark"] = mark, ["Writer"] = writer, ["At"] = time.GetUtcNow() };
                actions.Add(marked is null
                    ? new TableTransactionAction(TableTransactionActionType.Add, entity)
                    : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, marked.ETag));
            }
            for (var i = 0; i < deltas.Count; i++)
            {
                var d = deltas[i];
                var row = existing[i];
                var entity = new TableEntity(partition, keys[i])
                {
                    ["OwnerId"] = d.OwnerId,
                    ["GrantKey"] = d.GrantKey,
                    ["Period"] = d.Period,
                    ["Shard"] = shard,
                    ["Requests"] = (row?.GetInt64("Requests") ?? 0) + d.Requests,
                    ["InputTokens"] = (row?.GetInt64("InputTokens") ?? 0) + d.InputTokens,
                    ["OutputTokens"] = (row?.GetInt64("OutputTokens") ?? 0) + d.OutputTokens,
                    ["CostMicros"] = (row?.GetInt64("CostMicros") ?? 0) + d.CostMicros,
                };
                actions.Add(row is null
                    ? new TableTransactionAction(TableTransactionActionType.Add, entity)
                    : new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, row.ETag));
            }
            try
            {
                await table.SubmitTransactionAsync(actions, ct).ConfigureAwait(false);
                return;
            }
            catch (RequestFailedException e) when (TableOps.IsConflictOrPrecondition(e))
            {
                Interlocked.Increment(ref _conflicts);
                if (attempt + 1 >= maxAttempts)
                {
                    throw new VaultUnavailableException($"Usage counters stayed contended after {maxAttempts} attempts.", e);
                }
                await Task.Delay(TableOps.Backoff(attempt, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(400)), ct).ConfigureAwait(false);
            }
        }
    }

    public Task<IReadOnlyList<UsageCounter>> GetAsync(string ownerId, string grantKey, IReadOnlyList<string> periods, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var partition = TableKeys.Owner(ownerId);
            var distinct = periods.Distinct(StringComparer.Ordinal).ToList();
            var results = await Task.WhenAll(distinct.Select(async period =>
            {
                var prefix = TableKeys.Escape(period) + TableKeys.Separator + TableKeys.Escape(grantKey) + TableKeys.Separator;
                var rows = await table.QueryAllAsync(
                    TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {prefix} and RowKey lt {TableKeys.PrefixEnd(prefix)}"), ct).ConfigureAwait(false);
                return rows.Count == 0 ? null : Sum(ownerId, grantKey, period, rows);
            })).ConfigureAwait(false);
            return (IReadOnlyList<UsageCounter>)results.OfType<UsageCounter>().ToList();
        }, ct);

    public Task<IReadOnlyList<UsageCounter>> ListAsync(string ownerId, string fromPeriod, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var colon = fromPeriod.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) throw new ArgumentException("A period looks like d:yyyy-MM-dd or m:yyyy-MM.", nameof(fromPeriod));
            var kind = TableKeys.Escape(fromPeriod[..(colon + 1)]);
            var partition = TableKeys.Owner(ownerId);
            var rows = await table.QueryAllAsync(
                TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {TableKeys.Escape(fromPeriod)} and RowKey lt {TableKeys.PrefixEnd(kind)}"), ct).ConfigureAwait(false);
            return (IReadOnlyList<UsageCounter>)rows
                .GroupBy(r => (Period: r.Required("Period"), Grant: r.Required("GrantKey")))
                .Select(g => Sum(ownerId, g.Key.Grant, g.Key.Period, g))
                .OrderBy(c => c.Period, StringComparer.Ordinal).ThenBy(c => c.GrantKey, StringComparer.Ordinal)
                .ToList();
        }, ct);

    private static UsageCounter Sum(string ownerId, string grantKey, string period, IEnumerable<TableEntity> shardRows)
    {
        long requests = 0, input = 0, output = 0, cost = 0;
        foreach (var row in shardRows)
        {
            requests += row.GetInt64("Requests") ?? 0;
            input += row.GetInt64("InputTokens") ?? 0;
            output += row.GetInt64("OutputTokens") ?? 0;
            cost += row.GetInt64("CostMicros") ?? 0;
        }
        return new UsageCounter(ownerId, grantKey, period, requests, input, output, cost);
    }

    internal static string RowKey(string period, string grantKey, int shard) =>
        string.Concat(TableKeys.Escape(period), TableKeys.Separator.ToString(), TableKeys.Escape(grantKey), TableKeys.Separator.ToString(),
            shard.ToString("D2", CultureInfo.InvariantCulture));

    private static string MarkKey(string writer) => "w" + TableKeys.Separator + TableKeys.Escape(writer);

    /// <summary>
    /// Before the first mark of the day of (owner, writer): names the pair in today's index partition. Written before the
    /// mark, so a crash between the two leaves an index row without a mark (harmless), never a mark the sweep cannot find.
    /// </summary>
    private async Task IndexMarkAsync(string ownerId, string writer, CancellationToken ct)
    {
        var day = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (_indexed.TryGetValue((ownerId, writer), out var done) && done == day) return;
        var row = new TableEntity(MarkIndexPrefix + day, TableKeys.Escape(ownerId) + TableKeys.Separator + TableKeys.Escape(writer))
        {
            ["OwnerId"] = ownerId,
            ["Writer"] = writer,
        };
        await table.UpsertEntityAsync(row, TableUpdateMode.Replace, ct).ConfigureAwait(false);
        _indexed[(ownerId, writer)] = day;
    }

    public Task<int> SweepWritersAsync(DateTimeOffset writtenBefore, int max, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        return TableGuard.Run(async () =>
        {
            // Index days strictly before the cut-off's day: every mark written since has an index row of a later day.
            var endDay = writtenBefore.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var filter = TableClient.CreateQueryFilter($"PartitionKey ge {MarkIndexPrefix} and PartitionKey lt {MarkIndexPrefix + endDay}");
            var swept = 0;
            var visited = 0;
            await foreach (var entry in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), cancellationToken: ct).ConfigureAwait(false))
            {
                if (visited++ >= max) break;
                var owner = entry.Required("OwnerId");
                var mark = await table.GetAsync(TableKeys.Owner(owner), MarkKey(entry.Required("Writer")), ct).ConfigureAwait(false);
                if (mark is not null && mark.GetDateTimeOffset("At") is { } at && at < writtenBefore)
                {
                    try
                    {
                        // Under its ETag: a batch written meanwhile keeps its mark.
                        await table.DeleteEntityAsync(mark.PartitionKey, mark.RowKey, mark.ETag, ct).ConfigureAwait(false);
                        swept++;
                    }
                    catch (RequestFailedException e) when (e.Status is (int)HttpStatusCode.NotFound or (int)HttpStatusCode.PreconditionFailed)
                    {
                    }
                }
                // A mark written later than the cut-off has an index row of its own later day; this one is spent.
                await table.DeleteIfExistsAsync(entry.PartitionKey, entry.RowKey, ct).ConfigureAwait(false);
            }
            return swept;
        }, ct);
    }

    public Task ForgetWriterAsync(string writerId, IReadOnlyCollection<string> ownerIds, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var markKey = MarkKey(writerId);
            foreach (var owner in ownerIds)
            {
                try
                {
                    await table.DeleteEntityAsync(TableKeys.Owner(owner), markKey, ETag.All, ct).ConfigureAwait(false);
                }
                catch (RequestFailedException e) when (e.Status == (int)HttpStatusCode.NotFound)
                {
                    // Never written for this owner, or already gone.
                }
            }
        }, ct);

    public Task<LeaseDocument?> ReadLeaseAsync(string ownerId, string grantKey, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.Owner(ownerId), LeaseRowKey(grantKey), ct).ConfigureAwait(false);
            return row is null ? null : new LeaseDocument(row.Required("State"), row.ETag.ToString());
        }, ct);

    public Task<string?> TryWriteLeaseAsync(string ownerId, string grantKey, string document, string? expectedVersion, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var entity = new TableEntity(TableKeys.Owner(ownerId), LeaseRowKey(grantKey)) { ["State"] = document, ["GrantKey"] = grantKey };
            try
            {
                var response = expectedVersion is null
                    ? await table.AddEntityAsync(entity, ct).ConfigureAwait(false)
                    : await table.UpdateEntityAsync(entity, new ETag(expectedVersion), TableUpdateMode.Replace, ct).ConfigureAwait(false);
                return (string?)response.Headers.ETag?.ToString();
            }
            catch (RequestFailedException e) when (TableOps.IsConflictOrPrecondition(e))
            {
                return null;
            }
        }, ct);

    internal static string LeaseRowKey(string grantKey) => "l" + TableKeys.Separator + TableKeys.Escape(grantKey);
}
