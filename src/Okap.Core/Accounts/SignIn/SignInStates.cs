using System.Text.Json;

namespace Okap.Core.Accounts.SignIn;

/// <summary>Reads an owner's <see cref="SignInState"/> and changes it with compare-and-swap, retrying on a lost race.</summary>
public sealed class SignInStates(ISignInStore store)
{
    private const int MaxAttempts = 20;

    public async Task<SignInState> ReadAsync(string ownerId, CancellationToken ct) => (await ReadVersionedAsync(ownerId, ct)).State;

    /// <summary>
    /// Applies <paramref name="change"/> to the stored state and writes the result; a null state means "nothing to
    /// write". On a concurrent write the change is run again on the newer state, so it must be a pure function of it.
    /// </summary>
    public async Task<T> UpdateAsync<T>(string ownerId, Func<SignInState, (SignInState? Next, T Result)> change, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (state, version) = await ReadVersionedAsync(ownerId, ct);
            var (next, result) = change(state);
            if (next is null || ReferenceEquals(next, state)) return result;
            if (await store.TryWriteStateAsync(ownerId, JsonSerializer.Serialize(next, SignInJsonContext.Default.SignInState), version, ct)) return result;
            if (attempt >= MaxAttempts) throw new VaultUnavailableException("the sign-in record kept changing under concurrent writes; try again");
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(2, 10 + attempt * 10)), ct);
        }
    }

    /// <summary>Like <see cref="UpdateAsync{T}"/> but a lost race is not retried: for best-effort bookkeeping (last seen).</summary>
    public async Task TryUpdateOnceAsync(string ownerId, Func<SignInState, SignInState?> change, CancellationToken ct)
    {
        var (state, version) = await ReadVersionedAsync(ownerId, ct);
        if (change(state) is { } next && !ReferenceEquals(next, state))
        {
            await store.TryWriteStateAsync(ownerId, JsonSerializer.Serialize(next, SignInJsonContext.Default.SignInState), version, ct);
        }
    }

    private async Task<(SignInState State, string? Version)> ReadVersionedAsync(string ownerId, CancellationToken ct)
    {
        var stored = await store.ReadStateAsync(ownerId, ct);
        if (stored is null) return (SignInState.Empty, null);
        return (JsonSerializer.Deserialize(stored.Json, SignInJsonContext.Default.SignInState) ?? SignInState.Empty, stored.Version);
    }
}
