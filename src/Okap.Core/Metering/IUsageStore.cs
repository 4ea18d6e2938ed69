namespace Okap.Core.Metering;

/// <summary>Usage counters. Additions are atomic increments: concurrent writers never lose an update.</summary>
public interface IUsageStore
{
    /// <summary>Adds each delta to its (grant, period) counter, creating it when missing.</summary>
    Task AddAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct);
    /// <summary>Counters of one grant for the given periods (missing ones are left out).</summary>
    Task<IReadOnlyList<UsageCounter>> GetAsync(string ownerId, string grantKey, IReadOnlyList<string> periods, CancellationToken ct);
    /// <summary>All counters of an owner whose period is at or after <paramref name="fromPeriod"/> of the same kind (d: or m:).</summary>
    Task<IReadOnlyList<UsageCounter>> ListAsync(string ownerId, string fromPeriod, CancellationToken ct);

    /// <summary>
    /// Adds a batch's deltas exactly once: the store remembers, per <see cref="UsageBatch.WriterId"/>, the highest
    /// <see cref="UsageBatch.Seq"/> it committed, in the same transaction as the counters, and skips a batch (or the
    /// part of it, per owner) it has already committed. A writer sends its batches in order, each with a higher
    /// sequence number, and retries a failed batch unchanged, so a reply lost after commit never counts twice.
    /// Throws <see cref="UsagePartlyWrittenException"/> when only some owners' parts were committed (retrying the
    /// whole batch is then safe).
    /// </summary>
    Task AddBatchAsync(UsageBatch batch, CancellationToken ct);

    /// <summary>
    /// Forgets what the store remembers of <paramref name="writerId"/>'s batches (in the partitions of
    /// <paramref name="ownerIds"/>, where a store keeps its marks per owner). Call it only when no batch of that
    /// writer can ever be sent again — its process wrote every batch and is stopping — or a retried batch would count twice.
    /// </summary>
    Task ForgetWriterAsync(string writerId, IReadOnlyCollection<string> ownerIds, CancellationToken ct);

    /// <summary>
    /// Forgets, for every writer, the marks last written before <paramref name="writtenBefore"/> (the store records when it
    /// writes a mark, by its own clock): those of crashed processes, or of processes whose spooled batches another one
    /// wrote. At most <paramref name="max"/> marks per call; returns how many were forgotten. A batch retried after its
    /// mark was forgotten is written as if new, so call it only with a retention longer than any batch can wait.
    /// </summary>
    Task<int> SweepWritersAsync(DateTimeOffset writtenBefore, int max, CancellationToken ct);

    /// <summary>The budget lease document of one grant (see <c>BudgetLedger</c>), or null when there is none yet.</summary>
    Task<LeaseDocument?> ReadLeaseAsync(string ownerId, string grantKey, CancellationToken ct);

    /// <summary>
    /// Writes the grant's lease document if it is still at <paramref name="expectedVersion"/> (null: only if there is
    /// none). Returns the new version, or null when another writer changed it first (read it again and retry).
    /// </summary>
    Task<string?> TryWriteLeaseAsync(string ownerId, string grantKey, string document, string? expectedVersion, CancellationToken ct);
}
