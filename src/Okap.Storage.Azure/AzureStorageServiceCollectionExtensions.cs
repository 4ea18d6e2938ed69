using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Configuration;
using Okap.Storage.Azure.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Storage.Azure;
using Okap.Storage.Azure.KeyVault;
using Okap.Storage.Azure.Tables;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the Azure stores.</summary>
public static class AzureStorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IVaultStores"/> and every store interface (one singleton <see cref="AzureTableVaultStores"/>)
    /// bound to <paramref name="section"/> (see <see cref="AzureStorageOptions"/>), validated at start. When
    /// <see cref="AzureStorageOptions.KeyVaultUri"/> is set, <see cref="ISecretStore"/> is the Key Vault store.
    /// </summary>
    public static IServiceCollection AddOkapAzureStores(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);

        services.AddOptions<AzureStorageOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AzureStorageOptions>, AzureStorageOptionsValidator>());

        services.AddOkapVaultStores(sp => AzureTableVaultStores.Create(sp.GetRequiredService<IOptions<AzureStorageOptions>>().Value, time: sp.GetService<TimeProvider>()));

        // One key ring for every instance: cookies and anti-forgery tokens must verify wherever the next request lands.
        services.AddDataProtection().SetApplicationName("OkapVault");
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider>((keys, sp) =>
        {
            var options = sp.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
            var stores = sp.GetRequiredService<AzureTableVaultStores>();
            var table = AzureTableVaultStores.CreateServiceClient(options).GetTableClient(stores.KeyRingTable);
            table.CreateIfNotExists();
            keys.XmlRepository = new TableXmlRepository(table);
        });

        if (!string.IsNullOrWhiteSpace(section[nameof(AzureStorageOptions.KeyVaultUri)]))
        {
            services.AddSingleton(sp => KeyVaultSecretStore.Create(
                sp.GetRequiredService<IOptions<AzureStorageOptions>>().Value, time: sp.GetService<TimeProvider>()));
            services.AddSingleton<ISecretStore>(sp => sp.GetRequiredService<KeyVaultSecretStore>());
        }
        return services;
    }

    /// <summary>
    /// Registers <see cref="TableDataProtectionSecretStore"/> as <see cref="ISecretStore"/>: master keys encrypted with
    /// the Data Protection key ring that <see cref="AddOkapAzureStores"/> keeps in the same account. For local runs on
    /// Azurite only (Key Vault has no emulator); a host must refuse it on Azure, where the keys belong in Key Vault.
    /// Call after <see cref="AddOkapAzureStores"/>.
    /// </summary>
    public static IServiceCollection AddOkapTableSecretStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<ISecretStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AzureStorageOptions>>().Value;
            var table = AzureTableVaultStores.CreateServiceClient(options).GetTableClient(options.TablePrefix + TableDataProtectionSecretStore.TableSuffix);
            return new TableDataProtectionSecretStore(table, sp.GetRequiredService<IDataProtectionProvider>());
        });
        return services;
    }
}
