using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Okap.Storage.Azure.Tables;
using Okap.Testing;


namespace Okap.Storage.Azure.Tests;

/// <summary>One in-memory Azurite shared by the tests of the <c>Azurite</c> collection.</summary>

public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteProcess Azurite { get; private set; } = null!;

    public async Task InitializeAsync() => Azurite = await AzuriteProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (Azurite is not null) await Azurite.DisposeAsync();
    }

    /// <summary>
    /// One vault instance's container on this Azurite, as a host builds it: the Azure stores with tables under
    /// <paramref name="prefix"/> (instances with the same prefix share a store), plus <paramref name="configure"/>.
    /// </summary>
    public ServiceProvider Instance(string prefix, Action<IServiceCollection>? configure = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionString"] = Azurite.ConnectionString,
            ["TablePrefix"] = prefix,
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddOkapAzureStores(configuration);
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>Fresh, isolated stores (own table prefix). The factory a store contract suite needs.</summary>
    public Task<AzureTableVaultStores> CreateStoresAsync(Action<AzureStorageOptions>? configure = null, TimeProvider? time = null) => Azurite.CreateStoresAsync(configure, time);
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
