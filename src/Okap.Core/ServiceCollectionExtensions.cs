using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Policies;
using Okap.Core.Pricing;
using Okap.Core.Requests;
using Okap.Core.Tokens;

namespace Okap.Core;

/// <summary>Registration of the vault core.</summary>
public static class CoreServiceCollectionExtensions
{
    /// <summary>Adds the vault's services and binds <see cref="VaultOptions"/> from the <c>Okap</c> section, validated at start-up. Stores are registered separately.</summary>
    public static IServiceCollection AddOkapCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<VaultOptions>()
            .Bind(configuration.GetSection(VaultOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => Uri.TryCreate(o.PublicUrl, UriKind.Absolute, out var u) && u.AbsolutePath == "/" && string.IsNullOrEmpty(u.Query),
                "Okap:PublicUrl must be an absolute URL with no path or query, e.g. https://vault.example.com")
            .Validate(o => string.IsNullOrEmpty(o.Proxy.PublicUrl)
                    || (Uri.TryCreate(o.Proxy.PublicUrl, UriKind.Absolute, out var p) && p.AbsolutePath == "/" && string.IsNullOrEmpty(p.Query)
                        && (p.Scheme == Uri.UriSchemeHttps || p.Scheme == Uri.UriSchemeHttp) && Uri.TryCreate(o.PublicUrl, UriKind.Absolute, out var page)
                        && !string.Equals(p.GetLeftPart(UriPartial.Authority), page.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase)),
                "Okap:Proxy:PublicUrl must be an absolute http(s) URL with no path or query on another host than Okap:PublicUrl, e.g. https://api.vault.example.com")
            .Validate(o => o.DefaultTokenLifetime <= o.MaxTokenLifetime, "Okap:DefaultTokenLifetime must not exceed Okap:MaxTokenLifetime")
            .Validate(o => o.DefaultAccessKeyLifetime <= o.MaxAccessKeyLifetime, "Okap:DefaultAccessKeyLifetime must not exceed Okap:MaxAccessKeyLifetime")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<VaultOrigins>();
        services.TryAddSingleton<AccessRequestParser>();
        services.TryAddSingleton<AuditLog>();
        services.TryAddSingleton<Notifications.VaultEvents>();
        services.TryAddSingleton<AccessRequestService>();
        services.TryAddSingleton<TokenService>();
        services.TryAddSingleton<MasterKeyService>();
        services.TryAddSingleton<PolicyService>();
        services.TryAddSingleton<AccessKeyService>();
        services.TryAddSingleton<AccountService>();
        services.AddOptions<Accounts.SignIn.SignInThrottleOptions>().Bind(configuration.GetSection(Accounts.SignIn.SignInThrottleOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<Accounts.SignIn.SignInStates>();
        services.TryAddSingleton<Accounts.SignIn.SignInThrottle>();
        services.TryAddSingleton<Accounts.SignIn.OwnerSessions>();
        services.TryAddSingleton<Accounts.SignIn.SecondFactors>();
        services.TryAddSingleton<Accounts.SignIn.Passkeys>();
        services.TryAddSingleton(Pricing.PriceCatalog.Default);
        services.TryAddSingleton<PriceOverrideService>();
        services.TryAddSingleton<OwnerResolver>();
        services.AddOkapMetering();
        services.AddOkapManagedIdentityGrants(configuration);
        // Registered here, before any proxy's fallback (NoPriceOverrides, added with TryAdd), so the store's own wins.
        services.AddOkapStoreInterfaces();
        return services;
    }

    /// <summary>
    /// Adds <see cref="ManagedIdentityGrants"/> with its options bound from <c>Okap:ManagedIdentity</c> and validated at
    /// start-up, once: the admin API (setting a key) and the proxy (every call) must judge by the same grants.
    /// </summary>
    public static IServiceCollection AddOkapManagedIdentityGrants(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(ManagedIdentityGrants))) return services;
        services.AddOptions<ManagedIdentityGrantOptions>().Bind(configuration.GetSection(ManagedIdentityGrantOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Options.IValidateOptions<ManagedIdentityGrantOptions>, ManagedIdentityGrantOptionsValidator>());
        services.AddSingleton<ManagedIdentityGrants>();
        return services;
    }

    /// <summary>
    /// Adds the budget ledger (in-memory counters and reservations) and <see cref="Metering.BudgetService"/>, once:
    /// the proxy and the admin API must share one ledger. Needs <see cref="Tokens.ITokenStore"/> and <see cref="Metering.IUsageStore"/>.
    /// </summary>
    public static IServiceCollection AddOkapMetering(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new Metering.BudgetLedger(sp.GetRequiredService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Options.IOptions<Metering.BudgetLeaseOptions>>()?.Value));
        services.TryAddSingleton(sp => new Metering.BudgetService(sp.GetRequiredService<Tokens.ITokenStore>(), sp.GetRequiredService<Metering.IUsageStore>(),
            sp.GetRequiredService<Metering.BudgetLedger>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
