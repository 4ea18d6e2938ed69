namespace Okap.Core.Accounts;

/// <summary>
/// Told when an owner's master keys or prices change on this instance, so caches (the proxy's key cache) drop
/// what they hold at once instead of waiting for their time-to-live. Other instances catch up within that TTL.
/// </summary>
public interface IOwnerSettingsListener
{
    void OwnerSettingsChanged(string ownerId);
}
