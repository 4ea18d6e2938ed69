using Okap.Core.Tokens;

namespace Okap.Core.Requests;

/// <summary>A validated access request, not yet stored.</summary>
public sealed record AccessRequestDraft(
    RequestShape Shape,
    string AppName,
    string? AppUrl,
    string? RedirectUri,
    string? Reason,
    IReadOnlyList<Grant> Requested);

/// <summary>A request field that failed validation.</summary>
/// <param name="Field">JSON path of the field, e.g. <c>authorization_details[0].provider</c>.</param>
public sealed record FieldError(string Field, string Message);
