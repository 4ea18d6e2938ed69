using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Metering;
using Okap.Core.Model;
using Okap.Core.Stores;

namespace Okap.Proxy;

/// <summary>
/// Writes the proxy's in-memory counters to the stores in batches: usage deltas (<see cref="IUsageStore.AddAsync"/>),
/// token last-use times (<see cref="ITokenStore.TouchAsync"/>) and queued audit entries, every
/// <see cref="OkapProxyOptions.FlushInterval"/> and once more at shutdown. A failed usage write is kept and retried.
/// </summary>
public sealed class UsageFlushService : BackgroundService
{
    private readonly BudgetLedger _ledger;
    private readonly IUsageStore _usage;
    private readonly ITokenStore _tokens;
    private readonly IServiceProvider _services;
    private readonly ProxyAuditQueue _audit;
    private readonly TokenCache _tokenCache;
    private readonly TimeProvider _time;
    private readonly OkapProxyOptions _options;
    private readonly ILogger<UsageFlushService> _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);

    internal UsageFlushService(BudgetLedger ledger, IUsageStore usage, ITokenStore tokens, IServiceProvider services, ProxyAuditQueue audit,
        TokenCache tokenCache, TimeProvider time, IOptions<OkapProxyOptions> options, ILogger<UsageFlushService> logger)
    {
        _ledger = ledger;
        _usage = usage;
        _tokens = tokens;
        _services = services;
        _audit = audit;
        _tokenCache = tokenCache;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.FlushInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync(stoppingToken).ConfigureAwait(false);
                _tokenCache.Purge();
                await RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes everything pending now. Safe to call at any time (calls are serialised).</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var pending = _ledger.TakePending();
            if (pending.Deltas.Count > 0)
            {
                try
                {
                    await _usage.AddAsync(pending.Deltas, ct).ConfigureAwait(false);
                }
                catch (UsagePartlyWrittenException ex)
                {
                    _ledger.Restore(ex.Unwritten);
                    Log.FlushFailed(_logger, ex.Unwritten.Count, ex.InnerException?.GetType().Name ?? ex.GetType().Name);
                }
                catch (Exception ex)
                {
                    _ledger.Restore(pending.Deltas);
                    Log.FlushFailed(_logger, pending.Deltas.Count, ex.GetType().Name);
                }
            }
            foreach (var touch in pending.Touched)
            {
                try
                {
                    await _tokens.TouchAsync(touch.OwnerId, touch.TokenId, touch.At, ct).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Log.SideWriteFailed(_logger, ex.GetType().Name);
                    break;
                }
            }
            var audit = _audit.Drain();
            audit.AddRange(await UseEventsAsync(pending.Deltas, ct).ConfigureAwait(false));
            if (audit.Count > 0 && _services.GetService<IAuditStore>() is { } auditStore)
            {
                foreach (var entry in audit)
                {
                    try
                    {
                        await auditStore.AppendAsync(entry, ct).ConfigureAwait(false);
                    }
                    catch (Exception ex)
                    {
                        Log.SideWriteFailed(_logger, ex.GetType().Name);
                        break;
                    }
                }
            }
            Log.Flushed(_logger, pending.Deltas.Count, pending.Touched.Count);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Token use goes to the audit trail as one summary per token and provider per flush ("12 calls, …"), not one row
    /// per call: the trail shows every use while the data path never waits for an audit write.
    /// </summary>
    private async Task<List<AuditEvent>> UseEventsAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct)
    {
        var events = new List<AuditEvent>();
        var appNames = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var delta in deltas)
        {
            if (!delta.Period.StartsWith("d:", StringComparison.Ordinal) || delta.Requests == 0) continue;
            var split = delta.GrantKey.LastIndexOf(':');
            if (split < 0) continue;
            var tokenId = delta.GrantKey[..split];
            if (!appNames.TryGetValue(tokenId, out var appName))
            {
                try
                {
                    appName = (await _tokens.GetAsync(delta.OwnerId, tokenId, ct).ConfigureAwait(false))?.AppName;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    appName = null;
                }
                appNames[tokenId] = appName;
            }
            events.Add(new AuditEvent
            {
                Id = Secrets.NewId("aud"),
                OwnerId = delta.OwnerId,
                At = _time.GetUtcNow(),
                Event = AuditEvents.TokenUsed,
                AppName = appName,
                TokenId = tokenId,
                Detail = string.Create(CultureInfo.InvariantCulture,
                    $"{delta.GrantKey[(split + 1)..]}: {delta.Requests} calls, {delta.InputTokens} input / {delta.OutputTokens} output tokens, ${delta.CostMicros / 1_000_000m:0.######}"),
            });
        }
        return events;
    }

    private async Task RefreshAsync(CancellationToken ct)
    {
        var stale = _ledger.GrantsOlderThan(_options.UsageRefreshInterval);
        foreach (var grantKey in stale.Take(200))
        {
            try
            {
                await _ledger.RefreshAsync(grantKey, _usage, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.SideWriteFailed(_logger, ex.GetType().Name);
                return;
            }
        }
    }
}
