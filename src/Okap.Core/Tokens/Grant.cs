namespace Okap.Core.Tokens;

/// <summary>Access to one provider: which models and capabilities, within which limits, until when.</summary>
/// <param name="Provider">Provider id, e.g. <c>openai</c>.</param>
/// <param name="Models">Allowed models; empty means every model.</param>
/// <param name="Capabilities">Allowed capabilities; empty means every capability.</param>
/// <param name="Limits">Rate, size and spend limits.</param>
/// <param name="ExpiresAt">End of the grant; null means no expiry.</param>
public sealed record Grant(
    string Provider,
    IReadOnlyList<string> Models,
    IReadOnlyList<string> Capabilities,
    Limits Limits,
    DateTimeOffset? ExpiresAt)
{
    public bool AllowsModel(string? model) =>
        Models.Count == 0 || (model is not null && Models.Contains(model, StringComparer.Ordinal));

    public bool AllowsCapability(string? capability) =>
        Capabilities.Count == 0 || (capability is not null && Capabilities.Contains(capability, StringComparer.Ordinal));
}
