using Okap.Core.Accounts;
using Okap.Core.Audit;

namespace Okap.Core.Pricing;

/// <summary>
/// An owner's own model prices (USD per million tokens), which win over the catalog when the proxy prices usage.
/// The proxy caches each owner's list briefly (<c>Okap:Proxy:KeyCacheTtl</c>), so a change applies within that time.
/// </summary>
public sealed class PriceOverrideService(IPriceOverrideStore prices, AuditLog audit, TimeProvider time, IEnumerable<IOwnerSettingsListener> listeners)
{
    /// <summary>Highest price accepted, in USD per million tokens.</summary>
    public const decimal MaxUsdPerMillion = 10_000m;
    public const int MaxModelLength = 128;
    /// <summary>Highest <c>max_output_tokens</c> accepted.</summary>
    public const int MaxOutputTokensLimit = 10_000_000;

    /// <summary>The owner's overrides, ordered by provider then model.</summary>
    public async Task<IReadOnlyList<PriceOverride>> ListAsync(string ownerId, CancellationToken ct) =>
        (await prices.ListAsync(ownerId, ct))
            .OrderBy(p => p.Provider, StringComparer.Ordinal).ThenBy(p => p.Model, StringComparer.Ordinal).ToArray();

    /// <summary>Creates or replaces the owner's price for (provider, model); <paramref name="model"/> <c>*</c> covers every model the catalog does not price.</summary>
    public async Task<Result<PriceOverride>> SetAsync(string ownerId, string provider, string model, decimal? inputUsdPerMillion,
        decimal? cachedInputUsdPerMillion, decimal? outputUsdPerMillion, int? maxOutputTokens, string? clientAddress, CancellationToken ct)
    {
        if (!Protocol.OkapCatalog.Providers.Contains(provider)) return Result<PriceOverride>.Invalid("provider", "unknown provider");
        if (!IsValidModel(model)) return Result<PriceOverride>.Invalid("model", $"model is 1 to {MaxModelLength} printable characters, or *");
        if (inputUsdPerMillion is null) return Result<PriceOverride>.Invalid("input_per_million", "input_per_million is required");
        if (!IsValidPrice(inputUsdPerMillion.Value)) return Result<PriceOverride>.Invalid("input_per_million", PriceRange("input_per_million"));
        if (outputUsdPerMillion is null) return Result<PriceOverride>.Invalid("output_per_million", "output_per_million is required");
        if (!IsValidPrice(outputUsdPerMillion.Value)) return Result<PriceOverride>.Invalid("output_per_million", PriceRange("output_per_million"));
        if (cachedInputUsdPerMillion is { } cached && !IsValidPrice(cached))
        {
            return Result<PriceOverride>.Invalid("cached_input_per_million", PriceRange("cached_input_per_million"));
        }
        if (maxOutputTokens is < 1 or > MaxOutputTokensLimit)
        {
            return Result<PriceOverride>.Invalid("max_output_tokens", $"max_output_tokens is 1 to {MaxOutputTokensLimit}");
        }

        var price = new ModelPrice(
            ModelPrice.UsdToMicros(inputUsdPerMillion.Value),
            cachedInputUsdPerMillion is { } c ? ModelPrice.UsdToMicros(c) : null,
            ModelPrice.UsdToMicros(outputUsdPerMillion.Value),
            maxOutputTokens);
        var entry = new PriceOverride(ownerId, provider, model, price, time.GetUtcNow());
        await prices.UpsertAsync(entry, ct);
        foreach (var listener in listeners) listener.OwnerSettingsChanged(ownerId);
        await audit.AppendAsync(ownerId, AuditEvents.PriceSet, ct, clientAddress: clientAddress, detail: Describe(provider, model, price));
        return Result<PriceOverride>.Ok(entry);
    }

    /// <summary>Removes the owner's price for (provider, model); false when there was none.</summary>
    public async Task<bool> RemoveAsync(string ownerId, string provider, string model, string? clientAddress, CancellationToken ct)
    {
        if (!Protocol.OkapCatalog.Providers.Contains(provider) || !IsValidModel(model)) return false;
        if (!await prices.DeleteAsync(ownerId, provider, model, ct)) return false;
        foreach (var listener in listeners) listener.OwnerSettingsChanged(ownerId);
        await audit.AppendAsync(ownerId, AuditEvents.PriceRemoved, ct, clientAddress: clientAddress, detail: provider + "/" + model);
        return true;
    }

    /// <summary><c>*</c>, or 1 to 128 printable ASCII characters without spaces (model names such as <c>meta-llama/Llama-3.3-70B</c> carry slashes).</summary>
    public static bool IsValidModel(string? model)
    {
        if (string.IsNullOrEmpty(model) || model.Length > MaxModelLength) return false;
        foreach (var ch in model)
        {
            if (ch is < '!' or > '~') return false;
        }
        return true;
    }

    private static bool IsValidPrice(decimal usdPerMillion) => usdPerMillion is >= 0 and <= MaxUsdPerMillion;

    private static string PriceRange(string field) => $"{field} is 0 to {MaxUsdPerMillion} (USD per million tokens)";

    private static string Describe(string provider, string model, ModelPrice price) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{provider}/{model}: input {price.InputMicrosPerMillion / 1_000_000m}, cached {(price.CachedInputMicrosPerMillion / 1_000_000m)?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}, output {price.OutputMicrosPerMillion / 1_000_000m} USD per 1M");
}
