using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Audit;
using Okap.Core.Metering;
using Okap.Core.Tokens;

namespace Okap.Proxy;

/// <summary>
/// Writes the proxy's in-memory counters to the stores in batches: usage deltas (<see cref="IUsageStore.AddBatchAsync"/>,
/// exactly once), token last-use times (<see cref="ITokenStore.TouchAsync"/>) and queued audit entries, every
/// <see cref="OkapProxyOptions.FlushInterval"/> and once more at shutdown; renews the budget leases that are due and
/// gives them back at shutdown. A failed batch is kept, unchanged, and retried before any newer one; batches still
/// unwritten at shutdown go to the <see cref="UsageSpool"/> on local disk and are written by the next process.
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
    private readonly UsageSpool _spool;
    private readonly List<(UsageBatch Batch, string? SpoolFile)> _outbox = [];
    // When each batch of this process was taken from the ledger, for the flush lag metric (guarded by _gate).
    private readonly Dictionary<UsageBatch, long> _takenAt = new(ReferenceEqualityComparer.Instance);
    private long _seq;
    private bool _spoolLoaded;
    // Owners this process wrote a batch for: where the store keeps this writer's marks.
    private readonly HashSet<string> _markedOwners = new(StringComparer.Ordinal);
    // Last-use times: the latest one per token not yet written, and when each token's was last written (guarded by _gate).
    // A token's last use is written at once the first time, then at most once per TouchInterval and at shutdown: each
    // write costs the store three or four transactions, and the page shows last use to the minute.
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);
    private readonly Dictionary<(string Owner, string Token), DateTimeOffset> _touches = [];
    private readonly Dictionary<(string Owner, string Token), DateTimeOffset> _touchWritten = [];
    private bool _stopping;
    private readonly Dictionary<string, string?> _appNames = new(StringComparer.Ordinal);

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
        _spool = new UsageSpool(_options.SpoolDirectory ?? Path.Combine(Path.GetTempPath(), "okap-usage-spool"));
    }

    /// <summary>Batches not yet written (for diagnostics and tests).</summary>
    internal int Unwritten
    {
        get
        {
            lock (_outbox) return _outbox.Count;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.HolderStarted(_logger, _ledger.HolderId);
        // As a PeriodicTimer on the TimeProvider: ticks that fall due while one runs make one more, not a queue. The
        // callback counts them, so a test on virtual time can wait for the work its clock advance started (TicksDoneAsync).
        using var timer = _time.CreateTimer(static self => ((UsageFlushService)self!).TickDue(), this, _options.FlushInterval, _options.FlushInterval);
        try
        {
            while (true)
            {
                await _tickSignal.Reader.ReadAsync(stoppingToken).ConfigureAwait(false);
                var upTo = Interlocked.Read(ref _ticksDue);
                await FlushAsync(stoppingToken).ConfigureAwait(false);
                await _ledger.MaintainLeasesAsync(final: false, stoppingToken).ConfigureAwait(false);
                _tokenCache.Purge();
                await RefreshAsync(stoppingToken).ConfigureAwait(false);
                Interlocked.Exchange(ref _ticksDone, upTo);
                Interlocked.Exchange(ref _tickEnded, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).SetResult();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    // Timer ticks fallen due, and those whose work (flush, lease upkeep, purge, refresh) is done.
    private long _ticksDue;
    private long _ticksDone;
    private readonly System.Threading.Channels.Channel<bool> _tickSignal = System.Threading.Channels.Channel.CreateBounded<bool>(
        new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite, SingleReader = true });
    private TaskCompletionSource _tickEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void TickDue()
    {
        Interlocked.Increment(ref _ticksDue);
        _tickSignal.Writer.TryWrite(true);
    }

    /// <summary>
    /// Completes once the work of every timer tick fallen due so far has finished (for tests on a fake
    /// <see cref="TimeProvider"/>: after advancing it, the flush and lease upkeep it set off are done).
    /// </summary>
    internal async Task TicksDoneAsync(CancellationToken ct = default)
    {
        var due = Interlocked.Read(ref _ticksDue);
        while (true)
        {
            var ended = Volatile.Read(ref _tickEnded);
            if (Interlocked.Read(ref _ticksDone) >= due) return;
            await ended.Task.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _ledger.MaintainLeasesAsync(final: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // An unreturned lease expires and counts as spent: stricter, never looser.
            Log.SideWriteFailed(_logger, ex.GetType().Name);
        }
        _stopping = true;
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        // What the store would not take now survives on local disk for the next process on this machine.
        List<(UsageBatch Batch, string? SpoolFile)> left;
        lock (_outbox) left = [.. _outbox];
        if (!left.Exists(b => b.Batch.WriterId == _ledger.HolderId))
        {
            await ForgetOwnMarksAsync(cancellationToken).ConfigureAwait(false);
        }
        foreach (var (batch, file) in left)
        {
            if (file is not null) continue;
            try
            {
                _spool.Save(batch);
                Log.Spooled(_logger, batch.Deltas.Count);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.SpoolFailed(_logger, batch.Deltas.Count, ex.GetType().Name);
            }
        }
    }

    /// <summary>
    /// Every batch of this process is written and it is stopping: none can be sent again, so the store may forget this
    /// writer's marks (otherwise one row per process start would stay for ever). A spooled batch keeps them.
    /// </summary>
    private async Task ForgetOwnMarksAsync(CancellationToken ct)
    {
        string[] owners;
        lock (_outbox) owners = [.. _markedOwners];
        if (owners.Length == 0) return;
        try
        {
            await _usage.ForgetWriterAsync(_ledger.HolderId, owners, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Left behind: harmless (a mark only stops replays), just a row that stays.
            Log.SideWriteFailed(_logger, ex.GetType().Name);
        }
    }

    /// <summary>Writes everything pending now. Safe to call at any time (calls are serialised).</summary>
    public async Task FlushAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            LoadSpoolOnce();
            var pending = _ledger.TakePending();
            if (pending.Deltas.Count > 0)
            {
                var batch = new UsageBatch(_ledger.HolderId, ++_seq, pending.Deltas);
                _takenAt[batch] = _time.GetTimestamp();
                lock (_outbox) _outbox.Add((batch, null));
            }
            await WriteOutboxAsync(ct).ConfigureAwait(false);
            await TouchAsync(pending.Touched, ct).ConfigureAwait(false);
            var audit = _audit.Drain();
            audit.AddRange(await UseEventsAsync(pending.Deltas, ct).ConfigureAwait(false));
            await WriteAuditAsync(audit, ct).ConfigureAwait(false);
            Log.Flushed(_logger, pending.Deltas.Count, pending.Touched.Count);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Puts the batches a previous process spooled to disk (and never wrote) first in the outbox, once.</summary>
    private void LoadSpoolOnce()
    {
        if (_spoolLoaded) return;
        _spoolLoaded = true;
        try
        {
            lock (_outbox) _outbox.InsertRange(0, _spool.Load().Select(s => (s.Batch, (string?)s.File)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.SpoolFailed(_logger, 0, ex.GetType().Name);
        }
    }

    /// <summary>
    /// Writes the outbox in order, each batch unchanged until written: the store's per-writer mark then makes every
    /// retry harmless. Stops at the first failure; what is left is tried again at the next flush.
    /// </summary>
    private async Task WriteOutboxAsync(CancellationToken ct)
    {
        while (true)
        {
            (UsageBatch Batch, string? SpoolFile) next;
            lock (_outbox)
            {
                if (_outbox.Count == 0) return;
                next = _outbox[0];
            }
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await _usage.AddBatchAsync(next.Batch, ct).ConfigureAwait(false);
                ProxyTelemetry.StoreCall("usage.write", started, null);
                if (_logger.IsEnabled(LogLevel.Debug)) LogWritten(next.Batch);
                if (_takenAt.Remove(next.Batch, out var takenAt)) ProxyTelemetry.FlushLag(_time.GetElapsedTime(takenAt));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                ProxyTelemetry.StoreCall("usage.write", started, ex);
                Log.FlushFailed(_logger, next.Batch.Deltas.Count, (ex as UsagePartlyWrittenException)?.InnerException?.GetType().Name ?? ex.GetType().Name);
                return;
            }
            lock (_outbox)
            {
                _outbox.RemoveAt(0);
                if (next.Batch.WriterId == _ledger.HolderId) foreach (var d in next.Batch.Deltas) _markedOwners.Add(d.OwnerId);
            }
            if (next.SpoolFile is not null) _spool.Delete(next.SpoolFile);
        }
    }

    /// <summary>Appends the audit entries the proxy collected; a store that fails stops this round (best effort, as before).</summary>
    private async Task WriteAuditAsync(List<AuditEvent> audit, CancellationToken ct)
    {
        if (audit.Count == 0 || _services.GetService<IAuditStore>() is not { } auditStore) return;
        foreach (var entry in audit)
        {
            try
            {
                await auditStore.AppendAsync(entry, ct).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.SideWriteFailed(_logger, ex.GetType().Name);
                return;
            }
        }
    }

    /// <summary>Writes the last-use times that are due (see <see cref="TouchInterval"/>); the others wait for a later flush.</summary>
    private async Task TouchAsync(IReadOnlyList<TokenTouch> touched, CancellationToken ct)
    {
        foreach (var touch in touched)
        {
            var key = (touch.OwnerId, touch.TokenId);
            if (!_touches.TryGetValue(key, out var at) || touch.At > at) _touches[key] = touch.At;
        }
        var now = _time.GetUtcNow();
        foreach (var (key, at) in _touches.ToList())
        {
            if (!_stopping && _touchWritten.TryGetValue(key, out var written) && now - written < TouchInterval) continue;
            try
            {
                await _tokens.TouchAsync(key.Owner, key.Token, at, ct).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.SideWriteFailed(_logger, ex.GetType().Name);
                break;
            }
            _touches.Remove(key);
            _touchWritten[key] = now;
        }
        foreach (var (key, written) in _touchWritten.ToList())
        {
            if (now - written >= TouchInterval && !_touches.ContainsKey(key)) _touchWritten.Remove(key);
        }
    }

    /// <summary>What a written batch held (its day counters; the month counters repeat them).</summary>
    private void LogWritten(UsageBatch batch)
    {
        long calls = 0, cost = 0;
        foreach (var d in batch.Deltas)
        {
            if (!d.Period.StartsWith("d:", StringComparison.Ordinal)) continue;
            calls += d.Requests;
            cost += d.CostMicros;
        }
        Log.BatchWritten(_logger, batch.Seq, batch.WriterId, calls, cost);
    }

    /// <summary>
    /// Token use goes to the audit trail as one summary per token and provider per flush ("12 calls, …"), not one row
    /// per call: the trail shows every use while the data path never waits for an audit write.
    /// </summary>
    private async Task<List<AuditEvent>> UseEventsAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct)
    {
        var events = new List<AuditEvent>();
        // A token's app name never changes: read it once per process, not once per flush (kept for a bounded number of tokens).
        var appNames = _appNames;
        if (appNames.Count > 10_000) appNames.Clear();
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
                if (appName is not null) appNames[tokenId] = appName;
            }
            events.Add(new AuditEvent
            {
                Id = Secrets.NewId("aud"),
                OwnerId = delta.OwnerId,
                At = _time.GetUtcNow(),
                Event = AuditEvents.TokenUsed,
                AppName = appName,
                TokenId = tokenId,
                Actor = AuditActor.Token(tokenId),
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
