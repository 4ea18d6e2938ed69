using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Pricing;
using Okap.Core.Tokens;
using Okap.Testing;

namespace Okap.Proxy.Tests.Infrastructure;

/// <summary>Fake managed identities: the token names the identity it stands for.</summary>
public sealed class FakeTokenSource : IUpstreamTokenSource
{
    public ValueTask<string> GetTokenAsync(string? clientId, CancellationToken ct) => ValueTask.FromResult(clientId is null ? "entra-token-fake" : "entra-token-" + clientId);
}

/// <summary>A vault (real Kestrel on 127.0.0.1:0) with in-memory stores and the proxy, in front of a <see cref="FakeProvider"/>.</summary>
public sealed class VaultHost : IAsyncDisposable
{
    public const string Owner = "own_test";
    /// <summary>The user-assigned identity the test operator gives owner <c>own_mi_alice</c>.</summary>
    public const string AliceIdentity = "3d2c7a4e-8f7b-4a36-9d1e-5a6b7c8d9e0f";
    public StoreHealth Health { get; } = new();
    public InMemoryTokenStore Tokens { get; }
    public InMemoryKeyMetadataStore Keys { get; }
    public InMemorySecretStore Secrets { get; }
    public InMemoryUsageStore Usage { get; }
    public InMemoryAuditStore Audit { get; } = new();
    public InMemoryPriceOverrideStore Prices { get; }
    public WebApplication App { get; private set; } = null!;
    public string Url { get; private set; } = "";

    public VaultHost()
    {
        Tokens = new(Health);
        Keys = new(Health);
        Secrets = new(Health);
        Usage = new(Health);
        Prices = new(Health);
    }

    public static async Task<VaultHost> StartAsync(FakeProvider fake, IDictionary<string, string?>? overrides = null, TimeProvider? time = null)
    {
        var host = new VaultHost();
        var settings = new Dictionary<string, string?>
        {
            ["Okap:Proxy:Providers:openai:BaseUrl"] = fake.Url + "/openai/v1",
            ["Okap:Proxy:Providers:anthropic:BaseUrl"] = fake.Url + "/anthropic",
            ["Okap:Proxy:Providers:google:BaseUrl"] = fake.Url + "/google",
            ["Okap:Proxy:Providers:groq:BaseUrl"] = fake.Url + "/groq/openai/v1",
            ["Okap:Proxy:Providers:mistral:BaseUrl"] = fake.Url + "/mistral/v1",
            ["Okap:Proxy:Providers:cohere:BaseUrl"] = fake.Url + "/cohere",
            ["Okap:Proxy:Providers:together:BaseUrl"] = "http://127.0.0.1:1/v1", // nothing listens: unreachable upstream
            ["Okap:Proxy:AllowInsecureOwnerUpstreams"] = "true",
            ["Okap:Proxy:AllowPrivateOwnerUpstreams"] = "true",
            ["Okap:Proxy:ManagedIdentityHosts:0"] = "127.0.0.1",
            ["Okap:Proxy:ManagedIdentityHosts:1"] = "localhost",
            ["Okap:ManagedIdentity:Owners:own_azure_mi:Hosts:0"] = "127.0.0.1",
            ["Okap:ManagedIdentity:Owners:own_mi:Hosts:0"] = "127.0.0.1",
            ["Okap:ManagedIdentity:Owners:own_mi_alice:Hosts:0"] = "localhost",
            ["Okap:ManagedIdentity:Owners:own_mi_alice:ClientId"] = VaultHost.AliceIdentity,
            ["Okap:ManagedIdentity:Owners:own_mi_bob:Hosts:0"] = "127.0.0.1",
            ["Okap:Proxy:UpstreamTimeout"] = "00:00:01.500",
            ["Okap:Proxy:StoreTimeout"] = "00:00:01",
            ["Okap:Proxy:FlushInterval"] = "00:00:01",
        };
        if (overrides is not null) foreach (var (k, v) in overrides) settings[k] = v;

        var builder = WebApplication.CreateSlimBuilder();
        // The test folder holds the server's appsettings.json (Kestrel on :5080); a fake listens only where it is told.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<ITokenStore>(host.Tokens);
        builder.Services.AddSingleton<IKeyMetadataStore>(host.Keys);
        builder.Services.AddSingleton<ISecretStore>(host.Secrets);
        builder.Services.AddSingleton<IUsageStore>(host.Usage);
        builder.Services.AddSingleton<IAuditStore>(host.Audit);
        builder.Services.AddSingleton<IPriceOverrideStore>(host.Prices);
        if (time is not null) builder.Services.AddSingleton(time);
        builder.Services.AddOkapProxy(builder.Configuration);
        builder.Services.AddSingleton<IUpstreamTokenSource, FakeTokenSource>();
        host.App = builder.Build();
        host.App.MapOkapProxy();
        await host.App.StartAsync();
        host.Url = host.App.Urls.First();

        foreach (var provider in new[] { "openai", "anthropic", "google", "groq", "mistral", "cohere", "together" })
            await host.SetKeyAsync(Owner, provider, "sk-master-" + provider);
        return host;
    }

    public async Task SetKeyAsync(string owner, string provider, string? secret, string? baseUrl = null, string authKind = MasterKeyAuthKinds.Key)
    {
        var now = DateTimeOffset.UtcNow;
        await Keys.UpsertAsync(new MasterKeyInfo { OwnerId = owner, Provider = provider, Last4 = secret is null ? "" : Okap.Core.Secrets.Last4(secret), BaseUrl = baseUrl, AuthKind = authKind, CreatedAt = now, UpdatedAt = now }, default);
        if (secret is not null) await Secrets.SetAsync(owner, provider, secret, default);
    }

    /// <summary>Issues a token with the given grants; returns (token, id).</summary>
    public async Task<(string Token, string Id)> IssueAsync(params Grant[] grants) => await IssueForAsync(Owner, grants);

    public async Task<(string Token, string Id)> IssueForAsync(string owner, params Grant[] grants)
    {
        var token = Okap.Core.Secrets.NewToken();
        var id = Okap.Core.Secrets.NewId("tok");
        await Tokens.CreateAsync(new TokenRecord
        {
            Id = id,
            Hash = Okap.Core.Secrets.Hash(token),
            OwnerId = owner,
            AppName = "Test App",
            DisplayPrefix = Okap.Core.Secrets.DisplayPrefix(token),
            Grants = grants,
            CreatedAt = DateTimeOffset.UtcNow,
            ExpiresAt = grants.Select(g => g.ExpiresAt).Where(e => e is not null).DefaultIfEmpty(null).Min(),
        }, default);
        return (token, id);
    }

    public static Grant Grant(string provider, string[]? models = null, string[]? caps = null, Limits? limits = null, DateTimeOffset? expires = null) =>
        new(provider, models ?? [], caps ?? [], limits ?? Limits.None, expires);

    public Task FlushAsync() => App.Services.GetRequiredService<UsageFlushService>().FlushAsync();

    public BudgetService Budget => App.Services.GetRequiredService<BudgetService>();

    public HttpClient Client(string? token = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(Url) };
        if (token is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>One fake provider and one vault shared by the integration tests (they run one at a time).</summary>
public sealed class VaultFixture : IAsyncLifetime
{
    public FakeProvider Fake { get; } = new();
    public VaultHost Vault { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Fake.StartAsync();
        Vault = await VaultHost.StartAsync(Fake);
    }

    public async Task DisposeAsync()
    {
        await Vault.DisposeAsync();
        await Fake.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class VaultCollection : ICollectionFixture<VaultFixture>
{
    public const string Name = "vault";
}
