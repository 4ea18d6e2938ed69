namespace Okap.Core.Notifications;

/// <summary>
/// A way of telling the owner (a webhook outbox, browser push). Registered with
/// <c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;IVaultEventSink, …&gt;())</c>; every sink gets every event.
/// A sink that must not lose an event makes it durable before it returns (e.g. writes an outbox row) and delivers later.
/// </summary>
public interface IVaultEventSink
{
    Task PublishAsync(VaultEvent vaultEvent, CancellationToken ct);
}
