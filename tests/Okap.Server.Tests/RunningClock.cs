using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Okap.Server.Tests;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that keeps pace with the wall clock (so store timeouts and the lease writers'
/// conflict back-off still pass while several instances race each other) and that a test moves ahead at once with
/// <see cref="FakeTimeProvider.Advance"/> instead of sleeping through a lease or a cache.
/// </summary>
public sealed class RunningClock : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;

    public RunningClock(DateTimeOffset start)
    {
        Time = new FakeTimeProvider(start);
        _pump = Task.Run(async () =>
        {
            var wall = Stopwatch.StartNew();
            var followed = TimeSpan.Zero;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(10, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var now = wall.Elapsed;
                Time.Advance(now - followed);
                followed = now;
            }
        });
    }

    /// <summary>The clock to give the vault instances (<see cref="VaultFactory.Time"/>).</summary>
    public FakeTimeProvider Time { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
    }
}
