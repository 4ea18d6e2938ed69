namespace Okap.Core.Metering;

/// <summary>A flush's usage deltas, identified for exactly-once writing.</summary>
/// <param name="WriterId">The writing process (one id per process start); no two processes share one.</param>
/// <param name="Seq">Increases with every batch of this writer (from 1).</param>
public sealed record UsageBatch(string WriterId, long Seq, IReadOnlyList<UsageCounter> Deltas);
