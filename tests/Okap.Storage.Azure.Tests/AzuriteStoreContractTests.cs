using Okap.Core;
using Okap.Core.Keys;
using Okap.Storage.Azure;
using Okap.Storage.Azure.KeyVault;
using Okap.Storage.Tests;

using Okap.Testing;

namespace Okap.Storage.Azure.Tests;

/// <summary>The shared store contract, on real Azurite tables and the Key Vault fake: the same suite the SQLite store passes.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzuriteStoreContractTests(AzuriteFixture azurite) : VaultStoreContract
{
    private readonly FakeKeyVault _keyVault = new();

    protected override async Task<IVaultStores> CreateStoresAsync() => await azurite.CreateStoresAsync(time: Clock);

    protected override ISecretStore CreateSecretStore(IVaultStores stores)
    {
        var options = new AzureStorageOptions { ConnectionString = "unused", KeyVaultUri = FakeKeyVault.VaultUri };
        return new KeyVaultSecretStore(_keyVault.CreateClient(KeyVaultSecretStore.CreateClientOptions(options)), options);
    }

    // Key Vault keeps the value itself (encrypted by the service); what the fake holds is what the service would.
    protected override Task<string?> ReadStoredSecretAsync(string ownerId, string provider) => Task.FromResult<string?>(null);
}
