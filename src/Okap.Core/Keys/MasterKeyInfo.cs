namespace Okap.Core.Keys;

/// <summary>Non-secret facts about an owner's master key for one provider; the key itself lives in an <see cref="ISecretStore"/>.</summary>
public sealed record MasterKeyInfo
{
    public required string OwnerId { get; init; }
    public required string Provider { get; init; }
    public string? Label { get; init; }
    /// <summary>Last four characters of the key; all that is ever shown.</summary>
    public required string Last4 { get; init; }
    /// <summary>Owner-chosen upstream base URL (Ollama, Azure OpenAI, OpenAI-compatible endpoints); null uses the configured default.</summary>
    public string? BaseUrl { get; init; }
    /// <summary>How the vault authenticates upstream: <c>key</c> (default), <c>azure-api-key</c>, <c>managed-identity</c>, <c>none</c>.</summary>
    public string AuthKind { get; init; } = MasterKeyAuthKinds.Key;
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}
