namespace Okap.Core.Requests;

/// <summary>Access requests.</summary>
public interface IRequestStore
{
    Task CreateAsync(AccessRequest request, CancellationToken ct);
    Task<AccessRequest?> GetAsync(string ownerId, string requestId, CancellationToken ct);
    /// <summary>Newest first. Listed items may carry no <see cref="AccessRequest.ConcurrencyStamp"/>: read one with <see cref="GetAsync"/> before updating it.</summary>
    Task<Page<AccessRequest>> ListAsync(string ownerId, RequestStatus? status, int pageSize, string? continuationToken, CancellationToken ct);
    /// <summary>Replaces the request if its <see cref="AccessRequest.ConcurrencyStamp"/> still matches; false when someone else changed it first.</summary>
    Task<bool> TryUpdateAsync(AccessRequest request, CancellationToken ct);
}
