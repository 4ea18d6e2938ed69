using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Storage.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the embedded SQLite store.</summary>
public static class SqliteStoreServiceCollectionExtensions
{
    /// <summary>Application name shared by every OKAP host so they read each other's Data Protection payloads.</summary>
    public const string DataProtectionApplicationName = "OkapVault";

    /// <summary>
    /// Registers <see cref="SqliteVaultStores"/> as <see cref="IVaultStores"/> and as each store interface (one singleton),
    /// <see cref="DataProtectionSecretStore"/> as <see cref="ISecretStore"/>, and Data Protection (application name
    /// <c>OkapVault</c>, keys persisted to <c>{DataDirectory}/keys</c> unless the host configured a repository or
    /// <see cref="SqliteStoreOptions.PersistDataProtectionKeys"/> is false). Options are validated at start-up.
    /// </summary>
    /// <param name="section">Configuration section bound to <see cref="SqliteStoreOptions"/> (e.g. <c>Okap:Sqlite</c>).</param>
    public static IServiceCollection AddOkapSqliteStore(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return services.AddOkapSqliteStoreCore(builder => builder.Bind(section));
    }

    /// <inheritdoc cref="AddOkapSqliteStore(IServiceCollection, IConfiguration)"/>
    public static IServiceCollection AddOkapSqliteStore(this IServiceCollection services, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddOkapSqliteStoreCore(builder => builder.Configure(configure));
    }

    private static IServiceCollection AddOkapSqliteStoreCore(this IServiceCollection services, Action<OptionsBuilder<SqliteStoreOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<SqliteStoreOptions>();
        configure(options);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SqliteStoreOptions>, SqliteStoreOptionsValidator>());
        options.ValidateOnStart();

        services.AddOkapVaultStores(sp => new SqliteVaultStores(
            sp.GetRequiredService<IOptions<SqliteStoreOptions>>().Value,
            sp.GetService<ILogger<SqliteVaultStores>>(),
            sp.GetService<TimeProvider>()));

        services.AddDataProtection().SetApplicationName(DataProtectionApplicationName);
        services.AddOptions<KeyManagementOptions>()
            .Configure<IOptions<SqliteStoreOptions>, ILoggerFactory>((keys, store, loggers) =>
            {
                if (keys.XmlRepository is not null || !store.Value.PersistDataProtectionKeys) return;
                if (store.Value.DataProtectionKeysDirectory is { } folder)
                {
                    if (store.Value.DirectoryToCreate() is { } data) OwnerOnlyFiles.CreateDirectory(data);
                    OwnerOnlyFiles.CreateDirectory(folder);
                    keys.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(folder), loggers);
                }
            });
        services.TryAddSingleton<ISecretStore>(sp => new DataProtectionSecretStore(
            sp.GetRequiredService<SqliteVaultStores>(),
            sp.GetRequiredService<IDataProtectionProvider>()));
        return services;
    }

    private sealed class SqliteStoreOptionsValidator : IValidateOptions<SqliteStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, SqliteStoreOptions options)
        {
            var errors = options.Validate();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
