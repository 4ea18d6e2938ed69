namespace Okap.Core.Requests;

/// <summary>Access requests.</summary>
public interface IRequestStore
{
    Task CreateAsync(AccessRequest request, CancellationToken ct);
    Task<AccessRequest?> GetAsync(string ownerId, string requestId, CancellationToken ct);
    /// <summary>Newest first. Listed items may carry no <see cref="AccessRequest.ConcurrencyStamp"/>: read one with <see cref="GetAsync"/> before updating it.</summary>
    Task<Page<AccessRequest>> ListAsync(string ownerId, RequestStatus? status, int pageSize, string? continuationToken, CancellationToken ct);
    /// <summary>
    /// Like <see cref="ListAsync"/>, only requests whose app name or a requested provider holds <paramref name="text"/>
    /// (any case; see <see cref="RequestSearch.Matches"/>). A store that cannot filter by substring on the server
    /// reads a bounded number of rows per call: a page may then be short, or empty, and still carry a continuation.
    /// </summary>
    Task<Page<AccessRequest>> SearchAsync(string ownerId, RequestStatus? status, string text, int pageSize, string? continuationToken, CancellationToken ct);
    /// <summary>Replaces the request if its <see cref="AccessRequest.ConcurrencyStamp"/> still matches; false when someone else changed it first.</summary>
    Task<bool> TryUpdateAsync(AccessRequest request, CancellationToken ct);
}
