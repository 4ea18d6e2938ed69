namespace Okap.Core.Audit;

/// <summary>One append-only audit entry.</summary>
public sealed record AuditEvent
{
    public required string Id { get; init; }
    public required string OwnerId { get; init; }
    public required DateTimeOffset At { get; init; }
    /// <summary>Event name, e.g. <c>request.created</c>, <c>token.revoked</c> (see <see cref="AuditEvents"/>).</summary>
    public required string Event { get; init; }
    public string? AppName { get; init; }
    public string? ClientAddress { get; init; }
    public string? RequestId { get; init; }
    public string? TokenId { get; init; }
    public string? Detail { get; init; }
    /// <summary>Which credential acted, e.g. <c>session:…</c>, <c>access_key:pat_… (name)</c>, <c>app</c> (see <see cref="AuditActor"/>); never a secret.</summary>
    public string? Actor { get; init; }
}
