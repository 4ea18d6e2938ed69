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

    /// <summary>Fresh, isolated stores (own table prefix). The factory a store contract suite needs.</summary>
    public Task<AzureTableVaultStores> CreateStoresAsync(Action<AzureStorageOptions>? configure = null) => Azurite.CreateStoresAsync(configure);
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
