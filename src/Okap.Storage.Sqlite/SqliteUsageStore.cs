using System.Text;
using Microsoft.Data.Sqlite;
using Okap.Core.Metering;

namespace Okap.Storage.Sqlite;

/// <summary>
/// Usage counters, added with atomic UPSERT increments (never read-modify-write), budget lease documents, and each
/// writer's mark (highest batch committed and when, by <paramref name="time"/>) for exactly-once batches.
/// </summary>
internal sealed class SqliteUsageStore(SqliteDatabase db, TimeProvider time) : IUsageStore
{
    private const string Columns = "owner_id, grant_key, period, requests, input_tokens, output_tokens, cost_micros";

    public Task AddAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        if (deltas.Count == 0) return Task.CompletedTask;
        return db.WriteAsync((c, tx, t) => AddCoreAsync(c, tx, deltas, t), ct);
    }

    public Task AddBatchAsync(UsageBatch batch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentException.ThrowIfNullOrEmpty(batch.WriterId);
        // One transaction: the writer's high-water mark and the counters commit together, or neither does.
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using (var read = c.Command("SELECT seq FROM usage_writers WHERE writer_id = @w;", tx).With("@w", batch.WriterId))
            {
                if (await read.ExecuteScalarAsync(t) is long seen && seen >= batch.Seq)
                {
                    // Committed before; the writer is still retrying, so its mark must outlive this retry too.
                    await using var touch = c.Command("UPDATE usage_writers SET updated_at = @at WHERE writer_id = @w;", tx)
                        .With("@w", batch.WriterId).With("@at", Db.Time(time.GetUtcNow()));
                    await touch.ExecuteNonQueryAsync(t);
                    return;
                }
            }
            if (batch.Deltas.Count > 0) await AddCoreAsync(c, tx, batch.Deltas, t);
            await using var mark = c.Command("""
                INSERT INTO usage_writers (writer_id, seq, updated_at) VALUES (@w, @s, @at)
                ON CONFLICT (writer_id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at;
                """, tx).With("@w", batch.WriterId).With("@s", batch.Seq).With("@at", Db.Time(time.GetUtcNow()));
            await mark.ExecuteNonQueryAsync(t);
        }, ct);
    }

    public Task ForgetWriterAsync(string writerId, IReadOnlyCollection<string> ownerIds, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using var delete = c.Command("DELETE FROM usage_writers WHERE writer_id = @w;", tx).With("@w", writerId);
            await delete.ExecuteNonQueryAsync(t);
        }, ct);

    public Task<int> SweepWritersAsync(DateTimeOffset writtenBefore, int max, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        // Bounded by the index on updated_at: only the oldest marks are visited, never the whole table.
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var delete = c.Command("""
                DELETE FROM usage_writers WHERE writer_id IN
                    (SELECT writer_id FROM usage_writers WHERE updated_at < @before ORDER BY updated_at LIMIT @max);
                """, tx).With("@before", Db.Time(writtenBefore)).With("@max", max);
            return await delete.ExecuteNonQueryAsync(t);
        }, ct);
    }

    public Task<LeaseDocument?> ReadLeaseAsync(string ownerId, string grantKey, CancellationToken ct) =>
        db.ReadAsync<LeaseDocument?>(async (c, t) =>
        {
            await using var query = c.Command("SELECT state, version FROM budget_leases WHERE owner_id = @o AND grant_key = @g;")
                .With("@o", ownerId).With("@g", grantKey);
            await using var reader = await query.ExecuteReaderAsync(t);
            if (!await reader.ReadAsync(t)) return null;
            return new LeaseDocument(reader.GetString(0), reader.GetInt64(1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }, ct);

    public Task<string?> TryWriteLeaseAsync(string ownerId, string grantKey, string document, string? expectedVersion, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(document);
        long? expected = expectedVersion is null ? null : long.Parse(expectedVersion, System.Globalization.CultureInfo.InvariantCulture);
        return db.WriteAsync<string?>(async (c, tx, t) =>
        {
            await using var write = expected is { } v
                ? c.Command("UPDATE budget_leases SET state = @s, version = version + 1 WHERE owner_id = @o AND grant_key = @g AND version = @v;", tx).With("@v", v)
                : c.Command("INSERT INTO budget_leases (owner_id, grant_key, state, version) VALUES (@o, @g, @s, 1) ON CONFLICT (owner_id, grant_key) DO NOTHING;", tx);
            write.With("@o", ownerId).With("@g", grantKey).With("@s", document);
            if (await write.ExecuteNonQueryAsync(t) != 1) return null;
            return ((expected ?? 0) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }, ct);
    }

    private static async Task AddCoreAsync(SqliteConnection c, SqliteTransaction tx, IReadOnlyList<UsageCounter> deltas, CancellationToken t)
    {
        {
            await using var upsert = c.Command($"""
                INSERT INTO usage_counters ({Columns}) VALUES (@o, @g, @p, @r, @in, @out, @cost)
                ON CONFLICT (owner_id, grant_key, period) DO UPDATE SET
                    requests = requests + excluded.requests,
                    input_tokens = input_tokens + excluded.input_tokens,
                    output_tokens = output_tokens + excluded.output_tokens,
                    cost_micros = cost_micros + excluded.cost_micros;
                """, tx);
            var o = upsert.Parameters.Add("@o", SqliteType.Text);
            var g = upsert.Parameters.Add("@g", SqliteType.Text);
            var p = upsert.Parameters.Add("@p", SqliteType.Text);
            var r = upsert.Parameters.Add("@r", SqliteType.Integer);
            var i = upsert.Parameters.Add("@in", SqliteType.Integer);
            var u = upsert.Parameters.Add("@out", SqliteType.Integer);
            var cost = upsert.Parameters.Add("@cost", SqliteType.Integer);
            foreach (var delta in deltas)
            {
                o.Value = delta.OwnerId;
                g.Value = delta.GrantKey;
                p.Value = delta.Period;
                r.Value = delta.Requests;
                i.Value = delta.InputTokens;
                u.Value = delta.OutputTokens;
                cost.Value = delta.CostMicros;
                await upsert.ExecuteNonQueryAsync(t);
            }
        }
    }

    public Task<IReadOnlyList<UsageCounter>> GetAsync(string ownerId, string grantKey, IReadOnlyList<string> periods, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(periods);
        if (periods.Count == 0) return Task.FromResult<IReadOnlyList<UsageCounter>>([]);
        return db.ReadAsync<IReadOnlyList<UsageCounter>>(async (c, t) =>
        {
            var sql = new StringBuilder($"SELECT {Columns} FROM usage_counters WHERE owner_id = @o AND grant_key = @g AND period IN (");
            await using var query = c.Command(string.Empty).With("@o", ownerId).With("@g", grantKey);
            for (var n = 0; n < periods.Count; n++)
            {
                var name = "@p" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                sql.Append(n == 0 ? "" : ", ").Append(name);
                query.With(name, periods[n]);
            }
            query.CommandText = sql.Append(") ORDER BY period;").ToString();
            return await ReadAllAsync(query, t);
        }, ct);
    }

    public Task<IReadOnlyList<UsageCounter>> ListAsync(string ownerId, string fromPeriod, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(fromPeriod);
        if (fromPeriod.Length < 2 || fromPeriod[1] != ':')
        {
            throw new ArgumentException("A period starts with its kind, e.g. d:2026-11-24 or m:2026-11.", nameof(fromPeriod));
        }
        // Same kind only: "d:…" sorts below "d;" (';' follows ':'), so [fromPeriod, "d;") is exactly the later days.
        var upper = string.Concat(fromPeriod.AsSpan(0, 1), ";");
        return db.ReadAsync<IReadOnlyList<UsageCounter>>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM usage_counters WHERE owner_id = @o AND period >= @from AND period < @upper ORDER BY grant_key, period;")
                .With("@o", ownerId).With("@from", fromPeriod).With("@upper", upper);
            return await ReadAllAsync(query, t);
        }, ct);
    }

    private static async Task<IReadOnlyList<UsageCounter>> ReadAllAsync(SqliteCommand query, CancellationToken ct)
    {
        await using var reader = await query.ExecuteReaderAsync(ct);
        var items = new List<UsageCounter>();
        while (await reader.ReadAsync(ct))
        {
            items.Add(new UsageCounter(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6)));
        }
        return items;
    }
}
