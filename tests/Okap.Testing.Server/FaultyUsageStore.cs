using Microsoft.Extensions.DependencyInjection;
using Okap.Core;
using Okap.Core.Metering;

namespace Okap.Testing;

/// <summary>Switches for the faults <see cref="FaultyUsageStore"/> injects into one vault instance's usage store.</summary>
public sealed class UsageStoreFaults
{
    /// <summary>The next usage batch commits in the store, then its reply is lost (the caller sees a failure).</summary>
    public volatile bool LoseNextBatchReply;

    /// <summary>The instance can no longer reach the store at all (every call fails): how a dead or cut-off instance looks to the store.</summary>
    public volatile bool Dead;

    private int _lostReplies;

    /// <summary>Replies actually lost after a commit.</summary>
    public int LostReplies => Volatile.Read(ref _lostReplies);

    internal void CountLostReply() => Interlocked.Increment(ref _lostReplies);
}

/// <summary>
/// The real usage store (SQLite or Table Storage) with faults on the wire's far side: a committed write whose reply
/// never arrives, or a store that stops answering. The faults sit outside the store, so what the store committed is real.
/// </summary>
public sealed class FaultyUsageStore(IUsageStore inner, UsageStoreFaults faults) : IUsageStore
{
    /// <summary>Replaces the host's <see cref="IUsageStore"/> registration by the same store behind <paramref name="faults"/>.</summary>
    public static void Wrap(IServiceCollection services, UsageStoreFaults faults)
    {
        var registered = services.Last(d => d.ServiceType == typeof(IUsageStore));
        services.Remove(registered);
        services.AddSingleton<IUsageStore>(sp => new FaultyUsageStore(
            (IUsageStore)(registered.ImplementationInstance
                          ?? registered.ImplementationFactory?.Invoke(sp)
                          ?? ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!)), faults));
    }

    private void Check()
    {
        if (faults.Dead) throw new VaultUnavailableException("test: the store cannot be reached from this instance");
    }

    public Task AddAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct)
    {
        Check();
        return inner.AddAsync(deltas, ct);
    }

    public Task<IReadOnlyList<UsageCounter>> GetAsync(string ownerId, string grantKey, IReadOnlyList<string> periods, CancellationToken ct)
    {
        Check();
        return inner.GetAsync(ownerId, grantKey, periods, ct);
    }

    public Task<IReadOnlyList<UsageCounter>> ListAsync(string ownerId, string fromPeriod, CancellationToken ct)
    {
        Check();
        return inner.ListAsync(ownerId, fromPeriod, ct);
    }

    public async Task AddBatchAsync(UsageBatch batch, CancellationToken ct)
    {
        Check();
        await inner.AddBatchAsync(batch, ct);
        if (faults.LoseNextBatchReply)
        {
            faults.LoseNextBatchReply = false;
            faults.CountLostReply();
            throw new VaultUnavailableException("test: the batch committed and its reply was lost");
        }
    }

    public Task ForgetWriterAsync(string writerId, IReadOnlyCollection<string> ownerIds, CancellationToken ct)
    {
        Check();
        return inner.ForgetWriterAsync(writerId, ownerIds, ct);
    }

    public Task<int> SweepWritersAsync(DateTimeOffset writtenBefore, int max, CancellationToken ct)
    {
        Check();
        return inner.SweepWritersAsync(writtenBefore, max, ct);
    }

    public Task<LeaseDocument?> ReadLeaseAsync(string ownerId, string grantKey, CancellationToken ct)
    {
        Check();
        return inner.ReadLeaseAsync(ownerId, grantKey, ct);
    }

    public Task<string?> TryWriteLeaseAsync(string ownerId, string grantKey, string document, string? expectedVersion, CancellationToken ct)
    {
        Check();
        return inner.TryWriteLeaseAsync(ownerId, grantKey, document, expectedVersion, ct);
    }
}
