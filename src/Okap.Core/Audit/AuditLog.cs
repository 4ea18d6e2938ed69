namespace Okap.Core.Audit;

/// <summary>Writes the owner's append-only audit trail. Details never carry a token or key.</summary>
public sealed class AuditLog(IAuditStore store, TimeProvider time)
{
    public Task AppendAsync(string ownerId, string @event, CancellationToken ct,
        string? appName = null, string? clientAddress = null, string? requestId = null, string? tokenId = null, string? detail = null, string? actor = null) =>
        store.AppendAsync(new AuditEvent
        {
            Id = Secrets.NewId("evt"),
            OwnerId = ownerId,
            At = time.GetUtcNow(),
            Event = @event,
            AppName = appName,
            ClientAddress = clientAddress,
            RequestId = requestId,
            TokenId = tokenId,
            Detail = detail,
            Actor = actor ?? AuditActor.Current,
        }, ct);

    public Task<Page<AuditEvent>> ListAsync(string ownerId, AuditQuery query, CancellationToken ct) =>
        store.ListAsync(ownerId, query with { PageSize = Math.Clamp(query.PageSize, 1, 200) }, ct);
}
