namespace Okap.Protocol;

/// <summary>Provider ids and capabilities that OKAP names (the specification's plus the Python SDK's).</summary>
public static class OkapCatalog
{
    /// <summary>Provider ids accepted in requests.</summary>
    public static readonly IReadOnlySet<string> Providers = new HashSet<string>(StringComparer.Ordinal)
    {
        "openai", "anthropic", "google", "groq", "together", "mistral", "cohere", "ollama",
    };

    /// <summary>Provider ids the Python SDK can parse in a reply.</summary>
    public static readonly IReadOnlySet<string> SdkProviders = new HashSet<string>(StringComparer.Ordinal)
    {
        "openai", "anthropic", "google", "ollama",
    };

    /// <summary>Capabilities accepted in requests.</summary>
    public static readonly IReadOnlySet<string> Capabilities = new HashSet<string>(StringComparer.Ordinal)
    {
        "chat", "completions", "embeddings", "images", "audio", "moderation", "code", "vision",
    };

    /// <summary>Capabilities the Python SDK can parse in a reply.</summary>
    public static readonly IReadOnlySet<string> SdkCapabilities = new HashSet<string>(StringComparer.Ordinal)
    {
        "chat", "completions", "embeddings", "images", "audio", "moderation",
    };
}
