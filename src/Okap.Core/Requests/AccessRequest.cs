using Okap.Core.Tokens;

namespace Okap.Core.Requests;

/// <summary>An app's request for access to an owner's keys.</summary>
public sealed record AccessRequest
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required RequestShape Shape { get; init; }
    public required string AppName { get; init; }
    public string? AppUrl { get; init; }
    public string? RedirectUri { get; init; }
    public string? Reason { get; init; }
    public string? ClientAddress { get; init; }
    public required IReadOnlyList<Grant> Requested { get; init; }
    /// <summary>What was granted (possibly narrower than asked); set on approval.</summary>
    public IReadOnlyList<Grant>? Granted { get; init; }
    public required RequestStatus Status { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>When a still-pending request expires.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    public DateTimeOffset? DecidedAt { get; init; }
    /// <summary><c>owner</c> or <c>policy:{id}</c>.</summary>
    public string? DecidedBy { get; init; }
    public string? DenyReason { get; init; }
    /// <summary>SHA-256 of the requester's secret poll handle (spec shape only).</summary>
    public string? PollHandleHash { get; init; }
    /// <summary>Set once the token was handed to the requester; a token is handed over once.</summary>
    public string? TokenId { get; init; }
    public DateTimeOffset? ClaimedAt { get; init; }
    /// <summary>Opaque optimistic-concurrency stamp owned by the store (row version or ETag).</summary>
    public string? ConcurrencyStamp { get; init; }

    /// <summary>The status as of <paramref name="now"/>: a pending request past its expiry reads as expired.</summary>
    public RequestStatus EffectiveStatus(DateTimeOffset now) =>
        Status == RequestStatus.Pending && now >= ExpiresAt ? RequestStatus.Expired : Status;
}
