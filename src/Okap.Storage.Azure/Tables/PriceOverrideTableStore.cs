using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core.Pricing;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// Table <c>{prefix}prices</c>: partition <c>o|{ownerId}</c>, row key <c>{provider}|{model}</c> (both escaped, so the
/// separator never appears inside either). Prices in integer micro-dollars per million tokens.
/// </summary>
internal sealed class PriceOverrideTableStore(TableClient table) : IPriceOverrideStore
{
    public Task<IReadOnlyList<PriceOverride>> ListAsync(string ownerId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var rows = await table.QueryAllAsync(TableClient.CreateQueryFilter($"PartitionKey eq {TableKeys.Owner(ownerId)}"), ct).ConfigureAwait(false);
            return (IReadOnlyList<PriceOverride>)rows.Select(ToOverride)
                .OrderBy(p => p.Provider, StringComparer.Ordinal).ThenBy(p => p.Model, StringComparer.Ordinal).ToList();
        }, ct);

    public Task UpsertAsync(PriceOverride price, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(price);
        return TableGuard.Run(() => table.UpsertEntityAsync(new TableEntity(TableKeys.Owner(price.OwnerId), RowKey(price.Provider, price.Model))
        {
            ["OwnerId"] = price.OwnerId,
            ["Provider"] = price.Provider,
            ["Model"] = price.Model,
            ["InputMicros"] = price.Price.InputMicrosPerMillion,
            ["CachedInputMicros"] = price.Price.CachedInputMicrosPerMillion,
            ["OutputMicros"] = price.Price.OutputMicrosPerMillion,
            ["MaxOutputTokens"] = price.Price.MaxOutputTokens,
            ["UpdatedAt"] = price.UpdatedAt,
        }, TableUpdateMode.Replace, ct), ct);
    }

    public Task<bool> DeleteAsync(string ownerId, string provider, string model, CancellationToken ct) =>
        TableGuard.Run(() => table.DeleteIfExistsAsync(TableKeys.Owner(ownerId), RowKey(provider, model), ct), ct);

    private static string RowKey(string provider, string model) => TableKeys.Escape(provider) + TableKeys.Separator + TableKeys.Escape(model);

    private static PriceOverride ToOverride(TableEntity row) => new(
        row.Required("OwnerId"),
        row.Required("Provider"),
        row.Required("Model"),
        new ModelPrice(
            row.GetInt64("InputMicros") ?? throw new InvalidDataException("Stored row is missing 'InputMicros'."),
            row.GetInt64("CachedInputMicros"),
            row.GetInt64("OutputMicros") ?? throw new InvalidDataException("Stored row is missing 'OutputMicros'."),
            row.GetInt32("MaxOutputTokens")),
        row.RequiredTime("UpdatedAt"));
}
