namespace Okap.Core.Audit;

/// <summary>Filters and paging for <see cref="IAuditStore.ListAsync"/>.</summary>
public sealed record AuditQuery(int PageSize = 50, string? ContinuationToken = null, string? AppName = null, string? Event = null);
