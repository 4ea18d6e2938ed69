namespace Okap.Core.Audit;

/// <summary>Append-only audit trail, newest first.</summary>
public interface IAuditStore
{
    Task AppendAsync(AuditEvent entry, CancellationToken ct);
    Task<Page<AuditEvent>> ListAsync(string ownerId, AuditQuery query, CancellationToken ct);
}
