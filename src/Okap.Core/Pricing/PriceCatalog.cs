using System.Text.Json;

namespace Okap.Core.Pricing;

/// <summary>
/// Model prices from the versioned data file <c>Pricing/prices.json</c> (embedded), looked up by provider and model.
/// A model matches an entry exactly, or as the entry plus a date/version suffix (<c>gpt-4o-2024-08-06</c> → <c>gpt-4o</c>),
/// or the provider's <c>*</c> entry. Anything else is unpriced.
/// </summary>
public sealed class PriceCatalog
{
    private readonly Dictionary<string, Dictionary<string, ModelPrice>> _providers;

    /// <summary>Catalog version (the date of the price list).</summary>
    public string Version { get; }

    /// <summary>Every entry, ordered by provider then model (built once; read-only).</summary>
    public IReadOnlyList<CatalogEntry> Entries { get; }

    private PriceCatalog(string version, Dictionary<string, Dictionary<string, ModelPrice>> providers)
    {
        Version = version;
        _providers = providers;
        Entries = providers
            .SelectMany(p => p.Value.Select(m => new CatalogEntry(p.Key, m.Key, m.Value)))
            .OrderBy(e => e.Provider, StringComparer.Ordinal).ThenBy(e => e.Model, StringComparer.Ordinal)
            .ToArray();
    }

    private static readonly Lazy<PriceCatalog> s_default = new(LoadEmbedded);

    /// <summary>The catalog shipped with this build.</summary>
    public static PriceCatalog Default => s_default.Value;

    private static PriceCatalog LoadEmbedded()
    {
        using var stream = typeof(PriceCatalog).Assembly.GetManifestResourceStream("Okap.Core.Pricing.prices.json")
            ?? throw new InvalidOperationException("The embedded price catalog is missing.");
        return Load(stream);
    }

    /// <summary>Parses a catalog in the <c>prices.json</c> format.</summary>
    public static PriceCatalog Load(Stream json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var version = root.GetProperty("version").GetString() ?? throw new FormatException("Catalog has no version.");
        var providers = new Dictionary<string, Dictionary<string, ModelPrice>>(StringComparer.Ordinal);
        foreach (var provider in root.GetProperty("providers").EnumerateObject())
        {
            var models = new Dictionary<string, ModelPrice>(StringComparer.Ordinal);
            foreach (var model in provider.Value.EnumerateObject())
            {
                models[model.Name] = ParsePrice(model.Value);
            }
            providers[provider.Name] = models;
        }
        return new PriceCatalog(version, providers);
    }

    internal static ModelPrice ParsePrice(JsonElement e)
    {
        long? cached = e.TryGetProperty("cached_input", out var c) ? ModelPrice.UsdToMicros(c.GetDecimal()) : null;
        int? maxOut = e.TryGetProperty("max_output", out var m) ? m.GetInt32() : null;
        var input = ModelPrice.UsdToMicros(e.GetProperty("input").GetDecimal());
        var output = e.TryGetProperty("output", out var o) ? ModelPrice.UsdToMicros(o.GetDecimal()) : 0;
        if (input < 0 || output < 0 || cached < 0) throw new FormatException("Negative price in catalog.");
        return new ModelPrice(input, cached, output, maxOut);
    }

    /// <summary>Finds the price of <paramref name="model"/>, preferring the owner's <paramref name="overrides"/>.</summary>
    public ModelPrice? Find(string provider, string? model, IReadOnlyList<PriceOverride>? overrides = null)
    {
        if (model is null) return null;
        model = NormaliseModel(model);
        if (overrides is { Count: > 0 })
        {
            PriceOverride? wildcard = null;
            foreach (var o in overrides)
            {
                if (!string.Equals(o.Provider, provider, StringComparison.Ordinal)) continue;
                if (string.Equals(o.Model, model, StringComparison.Ordinal)) return o.Price;
                if (o.Model == "*") wildcard = o;
            }
            var fromCatalog = FindInCatalog(provider, model);
            return fromCatalog ?? wildcard?.Price;
        }
        return FindInCatalog(provider, model);
    }

    private ModelPrice? FindInCatalog(string provider, string model)
    {
        if (!_providers.TryGetValue(provider, out var models)) return null;
        if (models.TryGetValue(model, out var exact)) return exact;
        // Longest entry that is a prefix followed by a date or version suffix.
        ModelPrice? best = null;
        var bestLength = 0;
        foreach (var (name, price) in models)
        {
            if (name.Length > bestLength && name.Length < model.Length && model.StartsWith(name, StringComparison.Ordinal)
                && IsVersionSuffix(model.AsSpan(name.Length)))
            {
                best = price;
                bestLength = name.Length;
            }
        }
        return best ?? (models.TryGetValue("*", out var any) ? any : null);
    }

    /// <summary>Gemini names models <c>models/gemini-…</c>; Ollama tags <c>llama3:8b</c> are kept whole.</summary>
    private static string NormaliseModel(string model) =>
        model.StartsWith("models/", StringComparison.Ordinal) ? model[7..] : model;

    /// <summary><c>-2024-08-06</c>, <c>-20250514</c>, <c>-05-20</c>, <c>-001</c>, <c>-0613</c>, <c>-latest</c>, <c>@20240620</c>.</summary>
    internal static bool IsVersionSuffix(ReadOnlySpan<char> s)
    {
        if (s.Length < 2 || s[0] is not ('-' or '@')) return false;
        s = s[1..];
        if (s is "latest") return true;
        foreach (var ch in s)
        {
            if (!(char.IsAsciiDigit(ch) || ch == '-')) return false;
        }
        // digits with optional dashes: yyyy-mm-dd, yyyymmdd, mm-dd, nnn, nnnn
        return s.Length switch
        {
            10 => s[4] == '-' && s[7] == '-',
            8 => !s.Contains('-'),
            5 => s[2] == '-',
            3 or 4 => !s.Contains('-'),
            _ => false,
        };
    }
}

/// <summary>One model of the catalog (<c>*</c>: any other model of the provider).</summary>
public sealed record CatalogEntry(string Provider, string Model, ModelPrice Price);
