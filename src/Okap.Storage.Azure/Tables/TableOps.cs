using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Azure;
using Azure.Data.Tables;

namespace Okap.Storage.Azure.Tables;

/// <summary>Small helpers shared by the table stores.</summary>
internal static class TableOps
{
    public const int MaxPageSize = 1000;

    public static async Task<TableEntity?> GetAsync(this TableClient table, string partitionKey, string rowKey, CancellationToken ct)
    {
        var response = await table.GetEntityIfExistsAsync<TableEntity>(partitionKey, rowKey, cancellationToken: ct).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>All rows of a query (owner-scoped, small result sets only).</summary>
    /// <summary>Deletes one entity whatever its ETag; false when it did not exist (the SDK answers 404 without throwing).</summary>
    public static async Task<bool> DeleteIfExistsAsync(this TableClient table, string partitionKey, string rowKey, CancellationToken ct)
    {
        try
        {
            var response = await table.DeleteEntityAsync(partitionKey, rowKey, ETag.All, ct).ConfigureAwait(false);
            return response.Status != (int)System.Net.HttpStatusCode.NotFound;
        }
        catch (RequestFailedException e) when (e.Status == (int)System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public static async Task<List<TableEntity>> QueryAllAsync(this TableClient table, string filter, CancellationToken ct, IEnumerable<string>? select = null)
    {
        var list = new List<TableEntity>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, maxPerPage: MaxPageSize, select: select, cancellationToken: ct).ConfigureAwait(false))
        {
            list.Add(entity);
        }
        return list;
    }

    /// <summary>How many rows one <see cref="ScanPageAsync{T}"/> call reads at most (Table Storage has no substring filter).</summary>
    internal const int MaxScanRows = 2_000;

    /// <summary>
    /// Like <see cref="PageAsync"/>, but keeps only the rows <paramref name="match"/> accepts, for filters the service
    /// cannot run (substrings). Reads at most <see cref="MaxScanRows"/> rows per call, so a page may hold fewer items
    /// than <paramref name="pageSize"/> (even none) and still carry a continuation: the row key of the last row read.
    /// </summary>
    public static async Task<(List<T> Items, string? ContinuationToken)> ScanPageAsync<T>(
        this TableClient table, string partitionKey, string rowKeyPrefix, string? extraFilter, Func<TableEntity, T> map, Func<T, bool> match,
        int pageSize, string? continuationToken, CancellationToken ct)
    {
        var found = new List<T>(Math.Min(pageSize, 64));
        var continuation = continuationToken;
        var scanned = 0;
        while (true)
        {
            var (rows, next) = await table.PageAsync(partitionKey, rowKeyPrefix, extraFilter, Math.Min(MaxPageSize, MaxScanRows - scanned), continuation, ct).ConfigureAwait(false);
            foreach (var row in rows)
            {
                scanned++;
                var item = map(row);
                if (!match(item)) continue;
                found.Add(item);
                if (found.Count == pageSize) return (found, ContinuationTokens.Encode(row.RowKey));
            }
            if (next is null) return (found, null);
            continuation = next;
            if (scanned >= MaxScanRows) return (found, continuation);
        }
    }

    /// <summary>
    /// One page of rows of <paramref name="partitionKey"/> whose row key starts with <paramref name="rowKeyPrefix"/>,
    /// in row-key order, after the row key carried by <paramref name="continuationToken"/>. Runs as many service
    /// pages as needed (service continuation tokens) to fill the page exactly, so a filter never yields short pages.
    /// </summary>
    public static async Task<(List<TableEntity> Items, string? ContinuationToken)> PageAsync(
        this TableClient table, string partitionKey, string rowKeyPrefix, string? extraFilter, int pageSize, string? continuationToken, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        pageSize = Math.Min(pageSize, MaxPageSize);
        var after = ContinuationTokens.Decode(continuationToken);
        var filter = rowKeyPrefix.Length == 0
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partitionKey} and RowKey ge {rowKeyPrefix} and RowKey lt {TableKeys.PrefixEnd(rowKeyPrefix)}");
        if (after is not null) filter += " and " + TableClient.CreateQueryFilter($"RowKey gt {after}");
        if (!string.IsNullOrEmpty(extraFilter)) filter += " and " + extraFilter;

        var wanted = pageSize + 1; // one more tells whether another page exists
        var items = new List<TableEntity>(Math.Min(wanted, 64));
        string? serviceToken = null;
        do
        {
            await foreach (var page in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(wanted - items.Count, MaxPageSize), cancellationToken: ct)
                .AsPages(serviceToken).ConfigureAwait(false))
            {
                items.AddRange(page.Values);
                serviceToken = page.ContinuationToken;
                break;
            }
        }
        while (items.Count < wanted && serviceToken is not null);

        if (items.Count <= pageSize) return (items, null);
        items.RemoveRange(pageSize, items.Count - pageSize);
        return (items, ContinuationTokens.Encode(items[^1].RowKey));
    }

    public static bool IsConflictOrPrecondition(RequestFailedException e) =>
        e.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict;

    public static string ToJson<T>(T value, JsonTypeInfo<T> info) => JsonSerializer.Serialize(value, info);

    public static T FromJson<T>(string? json, JsonTypeInfo<T> info, T fallback) =>
        string.IsNullOrEmpty(json) ? fallback : JsonSerializer.Deserialize(json, info) ?? fallback;

    public static string Required(this TableEntity entity, string name) =>
        entity.GetString(name) ?? throw new InvalidDataException($"Stored row is missing '{name}'.");

    public static DateTimeOffset RequiredTime(this TableEntity entity, string name) =>
        entity.GetDateTimeOffset(name) ?? throw new InvalidDataException($"Stored row is missing '{name}'.");

    /// <summary>Copies the properties of <paramref name="source"/> into a new row with other keys.</summary>
    public static TableEntity CopyAs(TableEntity source, string partitionKey, string rowKey)
    {
        var copy = new TableEntity(partitionKey, rowKey);
        foreach (var (key, value) in source)
        {
            if (key is "PartitionKey" or "RowKey" or "Timestamp" or "odata.etag") continue;
            copy[key] = value;
        }
        return copy;
    }

    /// <summary>Jittered exponential back-off ("full jitter"), capped.</summary>
    public static TimeSpan Backoff(int attempt, TimeSpan initial, TimeSpan max)
    {
        var ceiling = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * ceiling);
    }
}
