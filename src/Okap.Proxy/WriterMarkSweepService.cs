using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Okap.Core.Metering;

namespace Okap.Proxy;

/// <summary>
/// Forgets the exactly-once marks of usage writers that stopped writing more than
/// <see cref="OkapProxyOptions.WriterMarkRetention"/> ago (a crashed process leaves its marks behind, one row per owner
/// it wrote for), every <see cref="OkapProxyOptions.WriterMarkSweepInterval"/>. Every instance sweeps on its own; a
/// sweep is a bounded query of the oldest marks, so several instances sweeping the same period cost a few reads.
/// </summary>
public sealed class WriterMarkSweepService : BackgroundService
{
    /// <summary>Marks forgotten per store call; a sweep makes at most <see cref="MaxRounds"/> of them.</summary>
    internal const int BatchSize = 500;
    private const int MaxRounds = 20;

    private readonly IUsageStore _usage;
    private readonly TimeProvider _time;
    private readonly OkapProxyOptions _options;
    private readonly ILogger<WriterMarkSweepService> _logger;

    internal WriterMarkSweepService(IUsageStore usage, TimeProvider time, IOptions<OkapProxyOptions> options, ILogger<WriterMarkSweepService> logger)
    {
        _usage = usage;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.WriterMarkSweepInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await SweepAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One sweep: forgets marks last written before now less the retention. Returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken ct = default)
    {
        var before = _time.GetUtcNow() - _options.WriterMarkRetention;
        var total = 0;
        try
        {
            for (var round = 0; round < MaxRounds; round++)
            {
                var swept = await _usage.SweepWritersAsync(before, BatchSize, ct).ConfigureAwait(false);
                total += swept;
                if (swept < BatchSize) break;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Nothing depends on it soon: a mark that stays a period longer is one small row.
            Log.SweepFailed(_logger, ex.GetType().Name);
        }
        if (total > 0) Log.MarksSwept(_logger, total, before);
        return total;
    }
}
