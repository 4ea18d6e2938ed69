namespace Okap.Core.Audit;

/// <summary>Filters and paging for <see cref="IAuditStore.ListAsync"/>.</summary>
/// <param name="Text">
/// A case-insensitive substring of the event, app name, detail, client address, request or token id. A store that
/// cannot filter by substring on the server scans a bounded number of entries per call, so a page may hold fewer
/// than <paramref name="PageSize"/> items (even none) and still carry a continuation: keep reading until there is none.
/// </param>
public sealed record AuditQuery(int PageSize = 50, string? ContinuationToken = null, string? AppName = null, string? Event = null, string? Text = null)
{
    /// <summary>The longest <see cref="Text"/> accepted.</summary>
    public const int MaxTextLength = 200;

    /// <summary>Whether an entry matches <see cref="Text"/> (true when no text is given).</summary>
    public bool MatchesText(AuditEvent entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (string.IsNullOrEmpty(Text)) return true;
        return Has(entry.Event) || Has(entry.AppName) || Has(entry.Detail) || Has(entry.ClientAddress) || Has(entry.RequestId) || Has(entry.TokenId);
        bool Has(string? field) => field is not null && field.Contains(Text, StringComparison.OrdinalIgnoreCase);
    }
}
