using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Okap.Core;

/// <summary>The one place a store adapter's <see cref="IVaultStores"/> becomes every store interface the vault resolves.</summary>
public static class VaultStoresRegistration
{
    /// <summary>
    /// Registers <typeparamref name="TStores"/> (one singleton made by <paramref name="create"/>) as itself and as
    /// <see cref="IVaultStores"/>, and each of its stores as its interface. The first adapter registered wins; calling it
    /// again adds nothing.
    /// </summary>
    public static IServiceCollection AddOkapVaultStores<TStores>(this IServiceCollection services, Func<IServiceProvider, TStores> create)
        where TStores : class, IVaultStores
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(create);
        services.TryAddSingleton(create);
        services.TryAddSingleton<IVaultStores>(sp => sp.GetRequiredService<TStores>());
        return services.AddOkapStoreInterfaces();
    }

    /// <summary>Each store interface, taken from whichever <see cref="IVaultStores"/> is registered (idempotent).</summary>
    public static IServiceCollection AddOkapStoreInterfaces(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().Owners);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().Requests);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().Tokens);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().Keys);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().Policies);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().AccessKeys);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().Usage);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().Audit);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().Prices);
        services.TryAddSingleton(sp => sp.GetRequiredService<IVaultStores>().SignIn);
        return services;
    }
}
