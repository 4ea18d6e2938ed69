using System.Collections.Concurrent;
using System.Net;
using Okap.Core;
using Okap.Core.Audit;
using Okap.Core.Tokens;

namespace Okap.Proxy;

/// <summary>Audit entries for refused calls, queued in memory (bounded) and written by the flush, never on the request path.</summary>
internal sealed class ProxyAuditQueue(TimeProvider time)
{
    private const int Capacity = 1000;
    private readonly ConcurrentQueue<AuditEvent> _queue = new();
    private int _count;

    public void Refused(TokenRecord token, string provider, string reason, IPAddress? client)
    {
        if (Interlocked.Increment(ref _count) > Capacity)
        {
            Interlocked.Decrement(ref _count);
            return;
        }
        _queue.Enqueue(new AuditEvent
        {
            Id = Secrets.NewId("aud"),
            OwnerId = token.OwnerId,
            At = time.GetUtcNow(),
            Event = AuditEvents.TokenRefused,
            AppName = token.AppName,
            TokenId = token.Id,
            Actor = AuditActor.Token(token.Id),
            ClientAddress = client?.ToString(),
            Detail = provider + ": " + reason,
        });
    }

    public List<AuditEvent> Drain()
    {
        var list = new List<AuditEvent>();
        while (_queue.TryDequeue(out var e))
        {
            Interlocked.Decrement(ref _count);
            list.Add(e);
        }
        return list;
    }
}
