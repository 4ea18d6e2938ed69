namespace Okap.Core.Providers;

/// <summary>What a proxied path does, as far as limits and metering care.</summary>
public enum RouteKind
{
    /// <summary>Not a metered inference route: allowed only to tokens with no capability, model or spend restriction.</summary>
    Other,
    /// <summary>Free listing/lookup routes (model lists, token counting): allowed to any token, never billed.</summary>
    Meta,
    /// <summary>OpenAI <c>chat/completions</c> (and Cohere's compatibility API).</summary>
    ChatCompletions,
    /// <summary>OpenAI <c>responses</c>.</summary>
    Responses,
    /// <summary>OpenAI legacy <c>completions</c>.</summary>
    Completions,
    Embeddings,
    Images,
    Audio,
    Moderation,
    /// <summary>Anthropic <c>v1/messages</c>.</summary>
    AnthropicMessages,
    /// <summary>Anthropic legacy <c>v1/complete</c>.</summary>
    AnthropicComplete,
    /// <summary>Gemini <c>:generateContent</c> / <c>:streamGenerateContent</c>.</summary>
    GeminiGenerate,
    /// <summary>Gemini <c>:embedContent</c> / <c>:batchEmbedContents</c>.</summary>
    GeminiEmbed,
    /// <summary>Cohere <c>v1/chat</c>, <c>v2/chat</c>.</summary>
    CohereChat,
    /// <summary>Cohere <c>v1/embed</c>, <c>v2/embed</c>.</summary>
    CohereEmbed,
    /// <summary>Ollama native <c>api/chat</c>.</summary>
    OllamaChat,
    /// <summary>Ollama native <c>api/generate</c>.</summary>
    OllamaGenerate,
    /// <summary>Ollama native <c>api/embed</c>.</summary>
    OllamaEmbed,
}

/// <summary>Result of classifying a proxied request path.</summary>
/// <param name="Kind">What the route does.</param>
/// <param name="Capability">OKAP capability the route needs (<c>chat</c>, <c>embeddings</c>, …); null for meta and other routes.</param>
/// <param name="Format">Wire format of request and response (Cohere's compatibility API speaks OpenAI's).</param>
/// <param name="PathModel">Model named in the path (Gemini), else null.</param>
/// <param name="PathStreams">True when the path itself asks for a stream (Gemini <c>streamGenerateContent</c>).</param>
public readonly record struct RouteInfo(RouteKind Kind, string? Capability, ApiFormat Format, string? PathModel = null, bool PathStreams = false)
{
    /// <summary>True for routes that run a model and are metered.</summary>
    public bool IsMetered => Kind is not (RouteKind.Other or RouteKind.Meta);
}

/// <summary>Maps a request path (relative to the provider's base URL) to a capability. Pure, allocation-light.</summary>
public static class RouteClassifier
{
    public const string Chat = "chat";
    public const string Completions = "completions";
    public const string Embeddings = "embeddings";
    public const string Images = "images";
    public const string Audio = "audio";
    public const string Moderation = "moderation";

    /// <summary>Classifies <paramref name="path"/> (no leading slash, no query) for a provider of <paramref name="format"/>.</summary>
    public static RouteInfo Classify(ApiFormat format, string method, string? path)
    {
        var p = (path ?? string.Empty).AsSpan().Trim('/');
        var isGet = HttpMethodIs(method, "GET");
        var isPost = HttpMethodIs(method, "POST");
        return format switch
        {
            ApiFormat.OpenAI => ClassifyOpenAI(p, isGet, isPost, ApiFormat.OpenAI),
            ApiFormat.Anthropic => ClassifyAnthropic(p, isGet, isPost),
            ApiFormat.Gemini => ClassifyGemini(p, isGet, isPost),
            ApiFormat.Cohere => ClassifyCohere(p, isGet, isPost),
            _ => new RouteInfo(RouteKind.Other, null, format),
        };
    }

    private static bool HttpMethodIs(string method, string expected) => string.Equals(method, expected, StringComparison.OrdinalIgnoreCase);

    private static RouteInfo ClassifyOpenAI(ReadOnlySpan<char> p, bool isGet, bool isPost, ApiFormat format)
    {
        // Some clients keep "/v1" in the path when their base URL has no path (e.g. Ollama at http://host:11434).
        if (p.StartsWith("v1/", StringComparison.Ordinal)) p = p[3..];
        if (isPost)
        {
            switch (p)
            {
                case "chat/completions": return new(RouteKind.ChatCompletions, Chat, format);
                case "responses": return new(RouteKind.Responses, Chat, format);
                case "completions": return new(RouteKind.Completions, Completions, format);
                case "embeddings": return new(RouteKind.Embeddings, Embeddings, format);
                case "images/generations" or "images/edits" or "images/variations": return new(RouteKind.Images, Images, format);
                case "audio/speech" or "audio/transcriptions" or "audio/translations": return new(RouteKind.Audio, Audio, format);
                case "moderations": return new(RouteKind.Moderation, Moderation, format);
                case "api/chat": return new(RouteKind.OllamaChat, Chat, format);
                case "api/generate": return new(RouteKind.OllamaGenerate, Completions, format);
                case "api/embed" or "api/embeddings": return new(RouteKind.OllamaEmbed, Embeddings, format);
            }
        }
        if (isGet && (p is "models" or "api/tags" || (p.StartsWith("models/", StringComparison.Ordinal) && p[7..].IndexOf('/') < 0)))
            return new(RouteKind.Meta, null, format);
        return new(RouteKind.Other, null, format);
    }

    private static RouteInfo ClassifyAnthropic(ReadOnlySpan<char> p, bool isGet, bool isPost)
    {
        if (isPost)
        {
            switch (p)
            {
                case "v1/messages": return new(RouteKind.AnthropicMessages, Chat, ApiFormat.Anthropic);
                case "v1/complete": return new(RouteKind.AnthropicComplete, Completions, ApiFormat.Anthropic);
                case "v1/messages/count_tokens": return new(RouteKind.Meta, null, ApiFormat.Anthropic);
            }
        }
        if (isGet && (p is "v1/models" || (p.StartsWith("v1/models/", StringComparison.Ordinal) && p[10..].IndexOf('/') < 0)))
            return new(RouteKind.Meta, null, ApiFormat.Anthropic);
        return new(RouteKind.Other, null, ApiFormat.Anthropic);
    }

    private static RouteInfo ClassifyGemini(ReadOnlySpan<char> p, bool isGet, bool isPost)
    {
        // {version}/models[/{model}[:{method}]]
        var slash = p.IndexOf('/');
        if (slash <= 0) return new(RouteKind.Other, null, ApiFormat.Gemini);
        var version = p[..slash];
        if (!version.StartsWith("v1", StringComparison.Ordinal)) return new(RouteKind.Other, null, ApiFormat.Gemini);
        var rest = p[(slash + 1)..];
        if (rest is "models") return isGet ? new(RouteKind.Meta, null, ApiFormat.Gemini) : new(RouteKind.Other, null, ApiFormat.Gemini);
        if (!rest.StartsWith("models/", StringComparison.Ordinal)) return new(RouteKind.Other, null, ApiFormat.Gemini);
        var target = rest[7..];
        if (target.IsEmpty || target.IndexOf('/') >= 0) return new(RouteKind.Other, null, ApiFormat.Gemini);
        var colon = target.IndexOf(':');
        if (colon < 0) return isGet ? new(RouteKind.Meta, null, ApiFormat.Gemini) : new(RouteKind.Other, null, ApiFormat.Gemini);
        if (colon == 0 || !isPost) return new(RouteKind.Other, null, ApiFormat.Gemini);
        var model = target[..colon].ToString();
        return target[(colon + 1)..] switch
        {
            "generateContent" => new(RouteKind.GeminiGenerate, Chat, ApiFormat.Gemini, model),
            "streamGenerateContent" => new(RouteKind.GeminiGenerate, Chat, ApiFormat.Gemini, model, PathStreams: true),
            "embedContent" or "batchEmbedContents" => new(RouteKind.GeminiEmbed, Embeddings, ApiFormat.Gemini, model),
            "countTokens" => new(RouteKind.Meta, null, ApiFormat.Gemini, model),
            _ => new(RouteKind.Other, null, ApiFormat.Gemini, model),
        };
    }

    private static RouteInfo ClassifyCohere(ReadOnlySpan<char> p, bool isGet, bool isPost)
    {
        if (p.StartsWith("compatibility/v1/", StringComparison.Ordinal))
            return ClassifyOpenAI(p["compatibility/v1/".Length..], isGet, isPost, ApiFormat.OpenAI);
        if (isPost)
        {
            switch (p)
            {
                case "v1/chat" or "v2/chat": return new(RouteKind.CohereChat, Chat, ApiFormat.Cohere);
                case "v1/embed" or "v2/embed": return new(RouteKind.CohereEmbed, Embeddings, ApiFormat.Cohere);
            }
        }
        if (isGet && (p is "v1/models" || (p.StartsWith("v1/models/", StringComparison.Ordinal) && p[10..].IndexOf('/') < 0)))
            return new(RouteKind.Meta, null, ApiFormat.Cohere);
        return new(RouteKind.Other, null, ApiFormat.Cohere);
    }
}
