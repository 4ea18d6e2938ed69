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
    public ProxyStores Stores { get; }
    public StoreHealth Health => Stores.Health;
    public InMemoryTokenStore Tokens => Stores.Tokens;
    public InMemoryKeyMetadataStore Keys => Stores.Keys;
    public InMemorySecretStore Secrets => Stores.Secrets;
    public InMemoryUsageStore Usage => Stores.Usage;
    public InMemoryAuditStore Audit => Stores.Audit;
    public InMemoryPriceOverrideStore Prices => Stores.Prices;
    public WebApplication App { get; private set; } = null!;
    public string Url { get; private set; } = "";

    private VaultHost(TimeProvider time) => Stores = new(time);

    public static async Task<VaultHost> StartAsync(FakeProvider fake, IDictionary<string, string?>? overrides = null, TimeProvider? time = null)
    {
        var host = new VaultHost(time ?? TimeProvider.System);
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
        host.Stores.AddTo(builder.Services);
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

    public Task SetKeyAsync(string owner, string provider, string? secret, string? baseUrl = null, string authKind = MasterKeyAuthKinds.Key) =>
        Stores.SetKeyAsync(owner, provider, secret, baseUrl, authKind);

    /// <summary>Issues a token with the given grants; returns (token, id).</summary>
    public Task<(string Token, string Id)> IssueAsync(params Grant[] grants) => IssueForAsync(Owner, grants);

    public Task<(string Token, string Id)> IssueForAsync(string owner, params Grant[] grants) => Stores.IssueAsync(owner, "Test App", grants);

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
