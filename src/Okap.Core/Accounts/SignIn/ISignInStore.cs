namespace Okap.Core.Accounts.SignIn;

/// <summary>One stored sign-in document and the version a write must name to replace it.</summary>
public sealed record StoredSignInState(string Json, string Version);

/// <summary>
/// Per-owner sign-in documents with compare-and-swap, and per-address failure counts. Both are shared by every instance,
/// so a session ended, a recovery code spent or a failure counted on one holds on all.
/// </summary>
public interface ISignInStore
{
    Task<StoredSignInState?> ReadStateAsync(string ownerId, CancellationToken ct);

    /// <summary>
    /// Writes the document if the stored one is still <paramref name="expectedVersion"/> (null: if there is none yet).
    /// Returns false, writing nothing, when another write came first.
    /// </summary>
    Task<bool> TryWriteStateAsync(string ownerId, string json, string? expectedVersion, CancellationToken ct);

    /// <summary>
    /// Counts one failed sign-in from <paramref name="addressKey"/> in the window starting at <paramref name="window"/>
    /// (an older window's count starts again at 1) and returns the count now. Concurrent failures are never lost.
    /// </summary>
    Task<int> CountFailureAsync(string addressKey, DateTimeOffset window, CancellationToken ct);

    /// <summary>Failures counted for <paramref name="addressKey"/> in the window starting at <paramref name="window"/>.</summary>
    Task<int> ReadFailuresAsync(string addressKey, DateTimeOffset window, CancellationToken ct);
}
