namespace Okap.Core.Providers;

/// <summary>The wire format a provider speaks; decides where the model, limits and usage are read.</summary>
public enum ApiFormat
{
    /// <summary>OpenAI's format (also Groq, Together, Mistral, Ollama, Azure OpenAI v1, owner-defined compatible endpoints).</summary>
    OpenAI,
    /// <summary>Anthropic Messages API.</summary>
    Anthropic,
    /// <summary>Google Gemini API (<c>generateContent</c>).</summary>
    Gemini,
    /// <summary>Cohere's own v1/v2 API.</summary>
    Cohere,
}

/// <summary>How the master key is sent upstream.</summary>
public enum UpstreamAuthStyle
{
    /// <summary><c>Authorization: Bearer {key}</c>.</summary>
    Bearer,
    /// <summary><c>x-api-key: {key}</c> (Anthropic).</summary>
    XApiKey,
    /// <summary><c>x-goog-api-key: {key}</c> (Gemini).</summary>
    XGoogApiKey,
    /// <summary><c>api-key: {key}</c> (Azure OpenAI / AI Foundry).</summary>
    AzureApiKey,
    /// <summary>Entra ID bearer token of the vault's managed identity (Azure OpenAI / AI Foundry).</summary>
    ManagedIdentity,
    /// <summary>No credential (Ollama without a key).</summary>
    None,
}

/// <summary>What the vault knows about one provider id.</summary>
/// <param name="Id">Provider id as used in routes and grants.</param>
/// <param name="Format">Wire format.</param>
/// <param name="Auth">How the master key is sent.</param>
/// <param name="DefaultBaseUrl">Built-in upstream base URL; null when the owner must set one (Ollama, custom).</param>
/// <param name="KeyOptional">True when calls may go out without any key (Ollama).</param>
public sealed record ProviderDescriptor(string Id, ApiFormat Format, UpstreamAuthStyle Auth, string? DefaultBaseUrl, bool KeyOptional = false);

/// <summary>Built-in providers. Ids that are not listed are owner-defined OpenAI-compatible endpoints.</summary>
public static class ProviderCatalog
{
    public static readonly ProviderDescriptor OpenAI = new("openai", ApiFormat.OpenAI, UpstreamAuthStyle.Bearer, "https://api.openai.com/v1");
    public static readonly ProviderDescriptor Anthropic = new("anthropic", ApiFormat.Anthropic, UpstreamAuthStyle.XApiKey, "https://api.anthropic.com");
    public static readonly ProviderDescriptor Google = new("google", ApiFormat.Gemini, UpstreamAuthStyle.XGoogApiKey, "https://generativelanguage.googleapis.com");
    public static readonly ProviderDescriptor Groq = new("groq", ApiFormat.OpenAI, UpstreamAuthStyle.Bearer, "https://api.groq.com/openai/v1");
    public static readonly ProviderDescriptor Together = new("together", ApiFormat.OpenAI, UpstreamAuthStyle.Bearer, "https://api.together.xyz/v1");
    public static readonly ProviderDescriptor Mistral = new("mistral", ApiFormat.OpenAI, UpstreamAuthStyle.Bearer, "https://api.mistral.ai/v1");
    public static readonly ProviderDescriptor Cohere = new("cohere", ApiFormat.Cohere, UpstreamAuthStyle.Bearer, "https://api.cohere.com");
    public static readonly ProviderDescriptor Ollama = new("ollama", ApiFormat.OpenAI, UpstreamAuthStyle.Bearer, null, KeyOptional: true);

    /// <summary>Every built-in provider by id.</summary>
    public static readonly IReadOnlyDictionary<string, ProviderDescriptor> BuiltIn =
        new[] { OpenAI, Anthropic, Google, Groq, Together, Mistral, Cohere, Ollama }.ToDictionary(p => p.Id, StringComparer.Ordinal);

    /// <summary>A provider id the vault accepts in a route: lower-case letters, digits, '-' and '_', 1–64 characters.</summary>
    public static bool IsValidId(ReadOnlySpan<char> id)
    {
        if (id.Length is 0 or > 64) return false;
        foreach (var c in id)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_')) return false;
        }
        return true;
    }

    /// <summary>The descriptor for <paramref name="id"/>; unknown ids are owner-defined OpenAI-compatible endpoints.</summary>
    public static ProviderDescriptor Resolve(string id) =>
        BuiltIn.TryGetValue(id, out var known) ? known : new ProviderDescriptor(id, ApiFormat.OpenAI, UpstreamAuthStyle.Bearer, null);
}
