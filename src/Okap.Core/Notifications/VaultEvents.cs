using Microsoft.Extensions.Logging;

namespace Okap.Core.Notifications;

/// <summary>
/// Hands each event to every <see cref="IVaultEventSink"/>. The action the event reports (a request stored, a token
/// revoked) has already happened when it is published, so a sink that fails is logged and the others still run:
/// failing the caller then would make an app retry a request that exists.
/// </summary>
public sealed class VaultEvents(IEnumerable<IVaultEventSink> sinks, ILogger<VaultEvents> logger)
{
    private readonly IVaultEventSink[] _sinks = sinks.ToArray();

    public async Task PublishAsync(VaultEvent vaultEvent, CancellationToken ct)
    {
        foreach (var sink in _sinks)
        {
            try
            {
                await sink.PublishAsync(vaultEvent, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                logger.LogWarning(e, "{Sink} could not take event {EventType} {EventId}", sink.GetType().Name, vaultEvent.Type, vaultEvent.Id);
            }
        }
    }
}
