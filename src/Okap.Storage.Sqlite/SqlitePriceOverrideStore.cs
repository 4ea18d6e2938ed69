using Microsoft.Data.Sqlite;
using Okap.Core.Pricing;

namespace Okap.Storage.Sqlite;

/// <summary>Owners' own model prices (integer micro-dollars per million tokens), keyed by owner, provider and model.</summary>
internal sealed class SqlitePriceOverrideStore(SqliteDatabase db) : IPriceOverrideStore
{
    private const string Columns = "owner_id, provider, model, input_micros, cached_input_micros, output_micros, max_output_tokens, updated_at";

    public Task<IReadOnlyList<PriceOverride>> ListAsync(string ownerId, CancellationToken ct) =>
        db.ReadAsync<IReadOnlyList<PriceOverride>>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM price_overrides WHERE owner_id = @o ORDER BY provider, model;").With("@o", ownerId);
            await using var reader = await query.ExecuteReaderAsync(t);
            var items = new List<PriceOverride>();
            while (await reader.ReadAsync(t)) items.Add(Map(reader));
            return items;
        }, ct);

    public Task UpsertAsync(PriceOverride price, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(price);
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var upsert = c.Command($"""
                INSERT INTO price_overrides ({Columns}) VALUES (@o, @p, @m, @input, @cached, @output, @max_output, @updated_at)
                ON CONFLICT (owner_id, provider, model) DO UPDATE SET
                    input_micros = excluded.input_micros, cached_input_micros = excluded.cached_input_micros,
                    output_micros = excluded.output_micros, max_output_tokens = excluded.max_output_tokens, updated_at = excluded.updated_at;
                """, tx)
                .With("@o", price.OwnerId).With("@p", price.Provider).With("@m", price.Model)
                .With("@input", price.Price.InputMicrosPerMillion).With("@cached", price.Price.CachedInputMicrosPerMillion)
                .With("@output", price.Price.OutputMicrosPerMillion).With("@max_output", price.Price.MaxOutputTokens)
                .With("@updated_at", Db.Time(price.UpdatedAt));
            await upsert.ExecuteNonQueryAsync(t);
        }, ct);
    }

    public Task<bool> DeleteAsync(string ownerId, string provider, string model, CancellationToken ct) =>
        db.WriteAsync(async (c, tx, t) =>
        {
            await using var delete = c.Command("DELETE FROM price_overrides WHERE owner_id = @o AND provider = @p AND model = @m;", tx)
                .With("@o", ownerId).With("@p", provider).With("@m", model);
            return await delete.ExecuteNonQueryAsync(t) > 0;
        }, ct);

    private static PriceOverride Map(SqliteDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetString(2),
        new ModelPrice(r.GetInt64(3), r.IsDBNull(4) ? null : r.GetInt64(4), r.GetInt64(5), r.GetNullableInt32(6)),
        r.GetTime(7));
}
