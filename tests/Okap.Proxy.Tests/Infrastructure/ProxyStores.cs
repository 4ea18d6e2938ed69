using Microsoft.Extensions.DependencyInjection;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Pricing;
using Okap.Core.Tokens;

namespace Okap.Proxy.Tests.Infrastructure;

/// <summary>
/// The stores the proxy reads and writes, in memory, sharing one <see cref="StoreHealth"/> switch (to simulate an
/// outage), with the seeding both test hosts need: a master key and a token.
/// </summary>
public sealed class ProxyStores(TimeProvider time)
{
    public StoreHealth Health { get; } = new();
    public InMemoryTokenStore Tokens => _tokens ??= new(Health);
    public InMemoryKeyMetadataStore Keys => _keys ??= new(Health);
    public InMemorySecretStore Secrets => _secrets ??= new(Health);
    public InMemoryUsageStore Usage => _usage ??= new(Health);
    public InMemoryAuditStore Audit { get; } = new();
    public InMemoryPriceOverrideStore Prices => _prices ??= new(Health);

    private InMemoryTokenStore? _tokens;
    private InMemoryKeyMetadataStore? _keys;
    private InMemorySecretStore? _secrets;
    private InMemoryUsageStore? _usage;
    private InMemoryPriceOverrideStore? _prices;

    /// <summary>Registers these stores where <c>AddOkapProxy</c> looks for them.</summary>
    public void AddTo(IServiceCollection services)
    {
        services.AddSingleton<ITokenStore>(Tokens);
        services.AddSingleton<IKeyMetadataStore>(Keys);
        services.AddSingleton<ISecretStore>(Secrets);
        services.AddSingleton<IUsageStore>(Usage);
        services.AddSingleton<IAuditStore>(Audit);
        services.AddSingleton<IPriceOverrideStore>(Prices);
    }

    public async Task SetKeyAsync(string owner, string provider, string? secret, string? baseUrl = null, string authKind = MasterKeyAuthKinds.Key)
    {
        var now = time.GetUtcNow();
        await Keys.UpsertAsync(new MasterKeyInfo { OwnerId = owner, Provider = provider, Last4 = secret is null ? "" : Okap.Core.Secrets.Last4(secret), BaseUrl = baseUrl, AuthKind = authKind, CreatedAt = now, UpdatedAt = now }, default);
        if (secret is not null) await Secrets.SetAsync(owner, provider, secret, default);
    }

    /// <summary>Issues a token of <paramref name="owner"/> with the given grants; returns (token, id).</summary>
    public async Task<(string Token, string Id)> IssueAsync(string owner, string appName, params Grant[] grants)
    {
        var token = Okap.Core.Secrets.NewToken();
        var id = Okap.Core.Secrets.NewId("tok");
        await Tokens.CreateAsync(new TokenRecord
        {
            Id = id,
            Hash = Okap.Core.Secrets.Hash(token),
            OwnerId = owner,
            AppName = appName,
            DisplayPrefix = Okap.Core.Secrets.DisplayPrefix(token),
            Grants = grants,
            CreatedAt = time.GetUtcNow(),
            ExpiresAt = grants.Select(g => g.ExpiresAt).Where(e => e is not null).DefaultIfEmpty(null).Min(),
        }, default);
        return (token, id);
    }
}
