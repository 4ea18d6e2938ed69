using System.Collections.Concurrent;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Tokens;

namespace Okap.Bench;

// Minimal thread-safe in-memory stores for the benchmark's vault process.

internal sealed class MemTokenStore : ITokenStore
{
    private readonly ConcurrentDictionary<string, TokenRecord> _byHash = new();
    public int Lookups;
    public Task CreateAsync(TokenRecord token, CancellationToken ct) { _byHash[token.Hash] = token; return Task.CompletedTask; }
    public Task<TokenRecord?> FindByHashAsync(string hash, CancellationToken ct) { Interlocked.Increment(ref Lookups); return Task.FromResult(_byHash.GetValueOrDefault(hash)); }
    public Task<TokenRecord?> GetAsync(string ownerId, string tokenId, CancellationToken ct) => Task.FromResult(_byHash.Values.FirstOrDefault(t => t.Id == tokenId && t.OwnerId == ownerId));
    public Task<Page<TokenRecord>> ListAsync(string ownerId, int pageSize, string? continuationToken, CancellationToken ct) => Task.FromResult(new Page<TokenRecord>(_byHash.Values.ToList(), null));
    public Task<TokenRecord?> RevokeAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct) => Task.FromResult<TokenRecord?>(null);
    // The benchmark never narrows a token.
    public Task<TokenRecord?> ReplaceGrantsAsync(string ownerId, string tokenId, IReadOnlyList<Grant> expected, IReadOnlyList<Grant> grants,
        DateTimeOffset? expiresAt, CancellationToken ct) => Task.FromResult<TokenRecord?>(null);
    public Task TouchAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct) => Task.CompletedTask;
    public Task DeleteAsync(string ownerId, string tokenId, CancellationToken ct) => Task.CompletedTask;
}

internal sealed class MemKeyStore : IKeyMetadataStore
{
    private readonly ConcurrentDictionary<(string, string), MasterKeyInfo> _keys = new();
    public Task UpsertAsync(MasterKeyInfo key, CancellationToken ct) { _keys[(key.OwnerId, key.Provider)] = key; return Task.CompletedTask; }
    public Task<MasterKeyInfo?> GetAsync(string ownerId, string provider, CancellationToken ct) => Task.FromResult(_keys.GetValueOrDefault((ownerId, provider)));
    public Task<IReadOnlyList<MasterKeyInfo>> ListAsync(string ownerId, CancellationToken ct) => Task.FromResult<IReadOnlyList<MasterKeyInfo>>(_keys.Values.ToList());
    public Task<bool> DeleteAsync(string ownerId, string provider, CancellationToken ct) => Task.FromResult(_keys.TryRemove((ownerId, provider), out _));
}

internal sealed class MemSecretStore : ISecretStore
{
    private readonly ConcurrentDictionary<(string, string), string> _secrets = new();
    public Task SetAsync(string ownerId, string provider, string secret, CancellationToken ct) { _secrets[(ownerId, provider)] = secret; return Task.CompletedTask; }
    public Task<string?> GetAsync(string ownerId, string provider, CancellationToken ct) => Task.FromResult(_secrets.GetValueOrDefault((ownerId, provider)));
    public Task DeleteAsync(string ownerId, string provider, CancellationToken ct) { _secrets.TryRemove((ownerId, provider), out _); return Task.CompletedTask; }
}

internal sealed class MemUsageStore : IUsageStore
{
    private readonly ConcurrentDictionary<(string, string, string), UsageCounter> _c = new();
    private readonly Lock _gate = new();
    /// <summary>Store round trips made (each would be one or more table transactions on Azure).</summary>
    public long Calls;
    private void Count() => Interlocked.Increment(ref Calls);
    public Task AddAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct)
    {
        Count();
        return AddCore(deltas);
    }
    private Task AddCore(IReadOnlyList<UsageCounter> deltas)
    {
        lock (_gate)
            foreach (var d in deltas)
                _c[(d.OwnerId, d.GrantKey, d.Period)] = _c.TryGetValue((d.OwnerId, d.GrantKey, d.Period), out var c)
                    ? c with { Requests = c.Requests + d.Requests, InputTokens = c.InputTokens + d.InputTokens, OutputTokens = c.OutputTokens + d.OutputTokens, CostMicros = c.CostMicros + d.CostMicros }
                    : d;
        return Task.CompletedTask;
    }
    public Task<IReadOnlyList<UsageCounter>> GetAsync(string ownerId, string grantKey, IReadOnlyList<string> periods, CancellationToken ct)
    {
        Count();
        lock (_gate) return Task.FromResult<IReadOnlyList<UsageCounter>>(periods.Select(p => _c.GetValueOrDefault((ownerId, grantKey, p))).OfType<UsageCounter>().ToList());
    }
    public Task<IReadOnlyList<UsageCounter>> ListAsync(string ownerId, string fromPeriod, CancellationToken ct) => Task.FromResult<IReadOnlyList<UsageCounter>>(_c.Values.ToList());
    private readonly Dictionary<(string, string), LeaseDocument> _leases = [];
    private readonly Dictionary<string, long> _writers = new(StringComparer.Ordinal);
    private long _version;
    public Task AddBatchAsync(UsageBatch batch, CancellationToken ct)
    {
        Count();
        lock (_gate)
        {
            if (_writers.TryGetValue(batch.WriterId, out var seen) && seen >= batch.Seq) return Task.CompletedTask;
            _writers[batch.WriterId] = batch.Seq;
        }
        return AddCore(batch.Deltas);
    }
    public Task ForgetWriterAsync(string writerId, IReadOnlyCollection<string> ownerIds, CancellationToken ct)
    {
        lock (_gate) _writers.Remove(writerId);
        return Task.CompletedTask;
    }
    public Task<int> SweepWritersAsync(DateTimeOffset writtenBefore, int max, CancellationToken ct) => Task.FromResult(0);
    public Task<LeaseDocument?> ReadLeaseAsync(string ownerId, string grantKey, CancellationToken ct)
    {
        Count();
        lock (_gate) return Task.FromResult(_leases.GetValueOrDefault((ownerId, grantKey)));
    }
    public Task<string?> TryWriteLeaseAsync(string ownerId, string grantKey, string document, string? expectedVersion, CancellationToken ct)
    {
        Count();
        lock (_gate)
        {
            if (_leases.GetValueOrDefault((ownerId, grantKey))?.Version != expectedVersion) return Task.FromResult<string?>(null);
            var v = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _leases[(ownerId, grantKey)] = new LeaseDocument(document, v);
            return Task.FromResult<string?>(v);
        }
    }
}
