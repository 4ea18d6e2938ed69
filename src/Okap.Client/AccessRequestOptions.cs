using Okap.Protocol;

namespace Okap.Client;

/// <summary>What an app asks one provider's access for: used by both request shapes.</summary>
public sealed class AccessRequestOptions
{
    /// <summary>
    /// The provider id: <c>openai</c>, <c>anthropic</c>, <c>google</c>, <c>ollama</c> (both shapes), or <c>groq</c>,
    /// <c>together</c>, <c>mistral</c>, <c>cohere</c> (specification shape only). Required. The vault is the judge of
    /// which ids it accepts and answers unknown ones with <see cref="OkapVaultException"/> (400, <c>param</c> <c>provider</c>).
    /// </summary>
    public required string Provider { get; init; }

    /// <summary>Models the app wants; null or empty means every model of the provider.</summary>
    public IReadOnlyList<string>? Models { get; init; }

    /// <summary>
    /// Capabilities such as <c>chat</c>, <c>embeddings</c>, <c>images</c>; null or empty asks for <c>chat</c> only,
    /// as the Python SDK does.
    /// </summary>
    public IReadOnlyList<string>? Capabilities { get; init; }

    /// <summary>Limits the app proposes (spend in USD, request and token counts); the person may narrow them.</summary>
    public OkapLimits? Limits { get; init; }

    /// <summary>When the access should end; must lie in the future (the vault checks). Null leaves it to the vault and the person.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>Why the app asks, shown to the person.</summary>
    public string? Reason { get; init; }

    /// <summary>Checks what the client can check before sending; the vault validates the rest.</summary>
    internal void Validate(string paramName, string label)
    {
        if (string.IsNullOrWhiteSpace(Provider)) throw new ArgumentException($"{label}.Provider is required.", paramName);
        if (Models is not null)
        {
            for (var i = 0; i < Models.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(Models[i])) throw new ArgumentException($"{label}.Models[{i}] is empty.", paramName);
            }
        }
        if (Capabilities is not null)
        {
            for (var i = 0; i < Capabilities.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(Capabilities[i])) throw new ArgumentException($"{label}.Capabilities[{i}] is empty.", paramName);
            }
        }
    }

    internal List<string> WireModels() => Models is null ? [] : [.. Models];

    internal List<string> WireCapabilities() => Capabilities is null || Capabilities.Count == 0 ? ["chat"] : [.. Capabilities];

    internal string? WireExpires() => Expires?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
