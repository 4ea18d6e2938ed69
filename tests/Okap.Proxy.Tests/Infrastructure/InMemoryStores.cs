using System.Collections.Concurrent;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Pricing;
using Okap.Core.Tokens;

namespace Okap.Proxy.Tests.Infrastructure;

/// <summary>Switches the in-memory stores into "unreachable" (they throw <see cref="VaultUnavailableException"/>) or slow mode.</summary>
public sealed class StoreHealth
{
    public volatile bool Down;
    public volatile int DelayMs;
    public int Reads;

    public async Task CheckAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref Reads);
        if (DelayMs > 0) await Task.Delay(DelayMs, ct);
        if (Down) throw new VaultUnavailableException("test: store is down");
    }
}

// In-memory store implementations for tests; the SQLite store replaces them later.

public sealed class InMemoryTokenStore(StoreHealth health) : ITokenStore
{
    private readonly ConcurrentDictionary<string, TokenRecord> _byId = new();

    public async Task CreateAsync(TokenRecord token, CancellationToken ct) { await health.CheckAsync(ct); _byId[token.Id] = token; }

    public async Task<TokenRecord?> FindByHashAsync(string hash, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        return _byId.Values.FirstOrDefault(t => t.Hash == hash);
    }

    public async Task<TokenRecord?> GetAsync(string ownerId, string tokenId, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        return _byId.TryGetValue(tokenId, out var t) && t.OwnerId == ownerId ? t : null;
    }

    public async Task<Page<TokenRecord>> ListAsync(string ownerId, int pageSize, string? continuationToken, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        return new Page<TokenRecord>(_byId.Values.Where(t => t.OwnerId == ownerId).OrderByDescending(t => t.CreatedAt).Take(pageSize).ToList(), null);
    }

    public async Task<TokenRecord?> RevokeAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        if (!_byId.TryGetValue(tokenId, out var t) || t.OwnerId != ownerId) return null;
        var revoked = t.RevokedAt is null ? t with { RevokedAt = at } : t;
        _byId[tokenId] = revoked;
        return revoked;
    }

    public async Task<TokenRecord?> ReplaceGrantsAsync(string ownerId, string tokenId, IReadOnlyList<Grant> expected, IReadOnlyList<Grant> grants,
        DateTimeOffset? expiresAt, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        if (!_byId.TryGetValue(tokenId, out var t) || t.OwnerId != ownerId) return null;
        if (System.Text.Json.JsonSerializer.Serialize(t.Grants) != System.Text.Json.JsonSerializer.Serialize(expected)) return t;
        var replaced = t with { Grants = grants, ExpiresAt = expiresAt };
        _byId[tokenId] = replaced;
        return replaced;
    }

    public async Task TouchAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        if (_byId.TryGetValue(tokenId, out var t) && t.OwnerId == ownerId && (t.LastUsedAt is null || t.LastUsedAt < at))
            _byId[tokenId] = t with { LastUsedAt = at };
    }

    public async Task DeleteAsync(string ownerId, string tokenId, CancellationToken ct) { await health.CheckAsync(ct); _byId.TryRemove(tokenId, out _); }
}

public sealed class InMemoryKeyMetadataStore(StoreHealth health) : IKeyMetadataStore
{
    private readonly ConcurrentDictionary<(string, string), MasterKeyInfo> _keys = new();
    public async Task UpsertAsync(MasterKeyInfo key, CancellationToken ct) { await health.CheckAsync(ct); _keys[(key.OwnerId, key.Provider)] = key; }
    public async Task<MasterKeyInfo?> GetAsync(string ownerId, string provider, CancellationToken ct) { await health.CheckAsync(ct); return _keys.GetValueOrDefault((ownerId, provider)); }
    public async Task<IReadOnlyList<MasterKeyInfo>> ListAsync(string ownerId, CancellationToken ct) { await health.CheckAsync(ct); return _keys.Values.Where(k => k.OwnerId == ownerId).ToList(); }
    public async Task<bool> DeleteAsync(string ownerId, string provider, CancellationToken ct) { await health.CheckAsync(ct); return _keys.TryRemove((ownerId, provider), out _); }
}

public sealed class InMemorySecretStore(StoreHealth health) : ISecretStore
{
    private readonly ConcurrentDictionary<(string, string), string> _secrets = new();
    public async Task SetAsync(string ownerId, string provider, string secret, CancellationToken ct) { await health.CheckAsync(ct); _secrets[(ownerId, provider)] = secret; }
    public async Task<string?> GetAsync(string ownerId, string provider, CancellationToken ct) { await health.CheckAsync(ct); return _secrets.GetValueOrDefault((ownerId, provider)); }
    public async Task DeleteAsync(string ownerId, string provider, CancellationToken ct) { await health.CheckAsync(ct); _secrets.TryRemove((ownerId, provider), out _); }
}

public sealed class InMemoryUsageStore(StoreHealth health) : IUsageStore
{
    private readonly ConcurrentDictionary<(string Owner, string Grant, string Period), UsageCounter> _counters = new();
    private readonly Lock _gate = new();

    /// <summary>When ≥ 0, the next AddAsync writes only this many deltas and then fails as a store that commits in parts would.</summary>
    public int WriteOnlyNext = -1;

    public async Task AddAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        var partly = Interlocked.Exchange(ref WriteOnlyNext, -1);
        if (partly >= 0 && partly < deltas.Count)
        {
            await AddAsync(deltas.Take(partly).ToArray(), ct);
            throw new UsagePartlyWrittenException(deltas.Skip(partly).ToArray(), new VaultUnavailableException("test: store failed mid-batch"));
        }
        lock (_gate)
        {
            foreach (var d in deltas)
            {
                var key = (d.OwnerId, d.GrantKey, d.Period);
                _counters[key] = _counters.TryGetValue(key, out var c)
                    ? c with { Requests = c.Requests + d.Requests, InputTokens = c.InputTokens + d.InputTokens, OutputTokens = c.OutputTokens + d.OutputTokens, CostMicros = c.CostMicros + d.CostMicros }
                    : d;
            }
        }
    }

    public async Task<IReadOnlyList<UsageCounter>> GetAsync(string ownerId, string grantKey, IReadOnlyList<string> periods, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        lock (_gate) return periods.Select(p => _counters.GetValueOrDefault((ownerId, grantKey, p))).OfType<UsageCounter>().ToList();
    }

    public async Task<IReadOnlyList<UsageCounter>> ListAsync(string ownerId, string fromPeriod, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        lock (_gate)
            return _counters.Values.Where(c => c.OwnerId == ownerId && c.Period[0] == fromPeriod[0] && string.CompareOrdinal(c.Period, fromPeriod) >= 0).ToList();
    }

    private readonly Dictionary<(string, string), LeaseDocument> _leases = [];
    private readonly Dictionary<string, long> _writers = new(StringComparer.Ordinal);
    private long _version;

    /// <summary>Lease writes that committed (to count store round trips).</summary>
    public int LeaseWrites;

    /// <summary>When set, the next batch commits and then fails as if its reply were lost.</summary>
    public volatile bool LoseNextReply;

    public async Task AddBatchAsync(UsageBatch batch, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        lock (_gate)
        {
            if (_writers.TryGetValue(batch.WriterId, out var seen) && seen >= batch.Seq) return;
            _writers[batch.WriterId] = batch.Seq;
            foreach (var d in batch.Deltas)
            {
                var key = (d.OwnerId, d.GrantKey, d.Period);
                _counters[key] = _counters.TryGetValue(key, out var c)
                    ? c with { Requests = c.Requests + d.Requests, InputTokens = c.InputTokens + d.InputTokens, OutputTokens = c.OutputTokens + d.OutputTokens, CostMicros = c.CostMicros + d.CostMicros }
                    : d;
            }
        }
        if (LoseNextReply)
        {
            LoseNextReply = false;
            throw new VaultUnavailableException("test: reply lost after commit");
        }
    }

    /// <summary>Writers whose marks were forgotten.</summary>
    public ConcurrentQueue<string> ForgottenWriters { get; } = new();

    public async Task ForgetWriterAsync(string writerId, IReadOnlyCollection<string> ownerIds, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        lock (_gate) _writers.Remove(writerId);
        ForgottenWriters.Enqueue(writerId);
    }

    // This fake keeps no write times: nothing is ever old enough to sweep.
    public Task<int> SweepWritersAsync(DateTimeOffset writtenBefore, int max, CancellationToken ct) => Task.FromResult(0);

    /// <summary>Writers the store still remembers.</summary>
    public int RememberedWriters
    {
        get
        {
            lock (_gate) return _writers.Count;
        }
    }

    public async Task<LeaseDocument?> ReadLeaseAsync(string ownerId, string grantKey, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        lock (_gate) return _leases.GetValueOrDefault((ownerId, grantKey));
    }

    public async Task<string?> TryWriteLeaseAsync(string ownerId, string grantKey, string document, string? expectedVersion, CancellationToken ct)
    {
        await health.CheckAsync(ct);
        lock (_gate)
        {
            if (_leases.GetValueOrDefault((ownerId, grantKey))?.Version != expectedVersion) return null;
            var v = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _leases[(ownerId, grantKey)] = new LeaseDocument(document, v);
            LeaseWrites++;
            return v;
        }
    }
}

public sealed class InMemoryAuditStore : IAuditStore
{
    public ConcurrentQueue<AuditEvent> Events { get; } = new();
    public Task AppendAsync(AuditEvent entry, CancellationToken ct) { Events.Enqueue(entry); return Task.CompletedTask; }
    public Task<Page<AuditEvent>> ListAsync(string ownerId, AuditQuery query, CancellationToken ct) =>
        Task.FromResult(new Page<AuditEvent>(Events.Where(e => e.OwnerId == ownerId && query.MatchesText(e)).OrderByDescending(e => e.At).Take(query.PageSize).ToList(), null));
}

public sealed class InMemoryPriceOverrideStore(StoreHealth health) : IPriceOverrideStore
{
    private readonly ConcurrentDictionary<(string, string, string), PriceOverride> _prices = new();
    public async Task<IReadOnlyList<PriceOverride>> ListAsync(string ownerId, CancellationToken ct) { await health.CheckAsync(ct); return _prices.Values.Where(p => p.OwnerId == ownerId).ToList(); }
    public async Task UpsertAsync(PriceOverride price, CancellationToken ct) { await health.CheckAsync(ct); _prices[(price.OwnerId, price.Provider, price.Model)] = price; }
    public async Task<bool> DeleteAsync(string ownerId, string provider, string model, CancellationToken ct) { await health.CheckAsync(ct); return _prices.TryRemove((ownerId, provider, model), out _); }
}
