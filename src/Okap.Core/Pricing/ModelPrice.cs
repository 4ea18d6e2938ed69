namespace Okap.Core.Pricing;

/// <summary>
/// Price of one model in integer micro-dollars per million tokens (USD 2.50 / 1M tokens = 2,500,000).
/// </summary>
/// <param name="InputMicrosPerMillion">Uncached input tokens.</param>
/// <param name="CachedInputMicrosPerMillion">Cached input tokens (cache reads); null prices them as uncached input.</param>
/// <param name="OutputMicrosPerMillion">Output tokens (including reasoning tokens).</param>
/// <param name="MaxOutputTokens">The model's own output ceiling, used for worst-case reservations; null when unknown.</param>
public sealed record ModelPrice(long InputMicrosPerMillion, long? CachedInputMicrosPerMillion, long OutputMicrosPerMillion, int? MaxOutputTokens = null)
{
    /// <summary>A free model (local Ollama, moderation).</summary>
    public static ModelPrice Free { get; } = new(0, 0, 0);

    /// <summary>Cost of <paramref name="usage"/> in micro-dollars, rounded up.</summary>
    public long CostMicros(Metering.TokenUsage usage)
    {
        var cachedPrice = CachedInputMicrosPerMillion ?? InputMicrosPerMillion;
        var total = (Int128)usage.InputTokens * InputMicrosPerMillion
                    + (Int128)usage.CachedInputTokens * cachedPrice
                    + (Int128)usage.OutputTokens * OutputMicrosPerMillion;
        if (total <= 0) return 0;
        var micros = (total + 999_999) / 1_000_000;
        return micros > long.MaxValue ? long.MaxValue : (long)micros;
    }

    /// <summary>Converts a USD-per-million price to micro-dollars per million tokens.</summary>
    public static long UsdToMicros(decimal usdPerMillion) => decimal.ToInt64(decimal.Round(usdPerMillion * 1_000_000m, MidpointRounding.AwayFromZero));
}

/// <summary>An owner's own price for a model, which wins over the catalog (e.g. an Azure deployment name, a custom endpoint, negotiated rates).</summary>
/// <param name="Provider">Provider id.</param>
/// <param name="Model">Model name as sent in requests, or <c>*</c> for every model of the provider.</param>
public sealed record PriceOverride(string OwnerId, string Provider, string Model, ModelPrice Price, DateTimeOffset UpdatedAt);
