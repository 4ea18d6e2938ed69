namespace Okap.Core.Metering;

/// <summary>Tokens of one call, normalised across providers.</summary>
/// <param name="InputTokens">Input tokens billed at the full input price (cache writes included).</param>
/// <param name="CachedInputTokens">Input tokens served from the provider's prompt cache.</param>
/// <param name="OutputTokens">Output tokens, reasoning tokens included.</param>
public readonly record struct TokenUsage(long InputTokens, long CachedInputTokens, long OutputTokens)
{
    public long TotalInput => InputTokens + CachedInputTokens;
}
