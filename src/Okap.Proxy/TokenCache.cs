using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Tokens;

namespace Okap.Proxy;

/// <summary>
/// Token lookups by hash, reused for at most <see cref="OkapProxyOptions.TokenCacheTtl"/> (≤ 1 s) from the moment the
/// store was read, so a revocation is seen everywhere within that time. Unknown tokens are cached too. Concurrent
/// misses for one hash share one store read. When the store cannot be reached, a token read within the
/// <see cref="OutageGrace"/> is answered from what was last read (unknown tokens never are).
/// </summary>
internal sealed class TokenCache
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    // Lazy: GetOrAdd may run its factory more than once under contention, and each run would be a store read.
    private readonly ConcurrentDictionary<string, Lazy<Task<TokenRecord?>>> _inflight = new(StringComparer.Ordinal);
    private readonly ITokenStore _store;
    private readonly TimeProvider _time;
    private readonly long _ttlTicks;
    private readonly TimeSpan _storeTimeout;
    private readonly OutageGrace _grace;

    public TokenCache(ITokenStore store, TimeProvider time, IOptions<OkapProxyOptions> options, OutageGrace grace)
    {
        _store = store;
        _time = time;
        _ttlTicks = (long)(options.Value.TokenCacheTtl.TotalSeconds * time.TimestampFrequency);
        _storeTimeout = options.Value.StoreTimeout;
        _grace = grace;
    }

    /// <param name="FailedAt">When the store last failed to answer for this token after <paramref name="ReadAt"/> (0: it has not).</param>
    private sealed record Entry(TokenRecord? Token, long ReadAt, long FailedAt = 0);

    public ValueTask<TokenRecord?> FindAsync(string hash)
    {
        var hit = _entries.TryGetValue(hash, out var e)
                  && (_time.GetTimestamp() - e.ReadAt < _ttlTicks || (e.Token is not null && _grace.SkipStore(e.ReadAt, e.FailedAt, _time.GetTimestamp())));
        ProxyTelemetry.CacheLookup("token", hit);
        return hit ? new(e!.Token) : new(LoadAsync(hash));
    }

    private async Task<TokenRecord?> LoadAsync(string hash)
    {
        var task = _inflight.GetOrAdd(hash, static (h, self) => new Lazy<Task<TokenRecord?>>(() => self.FetchAsync(h)), this).Value;
        try
        {
            return await task.WaitAsync(_storeTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            return LastKnown(hash) ?? throw new VaultUnavailableException("Token store timed out.", ex);
        }
        catch (VaultUnavailableException) when (LastKnown(hash) is { } known)
        {
            return known;
        }
    }

    /// <summary>The token as last read, when the outage grace allows serving it; null when it does not (or it is unknown).</summary>
    private TokenRecord? LastKnown(string hash)
    {
        if (!_entries.TryGetValue(hash, out var e) || e.Token is null) return null;
        var now = _time.GetTimestamp();
        if (!_grace.MayServe(e.ReadAt, now)) return null;
        _entries.TryUpdate(hash, e with { FailedAt = now }, e);
        return e.Token;
    }

    private async Task<TokenRecord?> FetchAsync(string hash)
    {
        await Task.Yield();
        var readAt = _time.GetTimestamp();
        // A read that finished between this caller's cache check and now already answers it: no second read.
        if (_entries.TryGetValue(hash, out var fresh) && readAt - fresh.ReadAt < _ttlTicks && fresh.FailedAt == 0)
        {
            _inflight.TryRemove(hash, out _);
            return fresh.Token;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var token = await _store.FindByHashAsync(hash, CancellationToken.None).ConfigureAwait(false);
            ProxyTelemetry.StoreCall("token.find", started, null);
            _entries[hash] = new Entry(token, readAt);
            return token;
        }
        catch (Exception ex) when (ProxyTelemetry.StoreFailed("token.find", started, ex))
        {
            throw;
        }
        catch (Exception ex) when (ex is not VaultUnavailableException)
        {
            throw new VaultUnavailableException("Token store failed.", ex);
        }
        finally
        {
            _inflight.TryRemove(hash, out _);
        }
    }

    /// <summary>Drops entries that can no longer be used.</summary>
    public void Purge()
    {
        var now = _time.GetTimestamp();
        foreach (var (key, e) in _entries)
        {
            // A known token is kept for the outage grace, so it can still be served if the store goes away.
            var keep = e.Token is null ? _ttlTicks : Math.Max(_ttlTicks, _grace.GraceTicks);
            if (now - e.ReadAt >= keep) _entries.TryRemove(new KeyValuePair<string, Entry>(key, e));
        }
    }
}
