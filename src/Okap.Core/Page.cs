namespace Okap.Core;

/// <summary>One page of a listing, with an opaque continuation token for the next page (null at the end).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? ContinuationToken);
