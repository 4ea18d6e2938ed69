namespace Okap.Core.Metering;

/// <summary>
/// <see cref="IUsageStore.AddAsync"/> failed after some of its deltas were committed (a store that cannot write them
/// all in one transaction). <see cref="Unwritten"/> are the ones still to add; retrying only those never counts a
/// committed delta twice.
/// </summary>
public sealed class UsagePartlyWrittenException(IReadOnlyList<UsageCounter> unwritten, Exception inner)
    : Exception("Some usage counters could not be written.", inner)
{
    public IReadOnlyList<UsageCounter> Unwritten { get; } = unwritten;
}
