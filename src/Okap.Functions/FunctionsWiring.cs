using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Okap.AspNetCore;
using Okap.Core.Services;
using Okap.Core.Stores;
using Okap.Storage.Sqlite;

namespace Okap.Functions;

/// <summary>Host wiring only: which store, start-up.</summary>
internal static class FunctionsWiring
{
    /// <summary>
    /// Chooses the store by <c>Okap:Store</c>: <c>Azure</c> (default: Table Storage + Key Vault, or Azurite through
    /// <c>Okap:Azure:ConnectionString</c>) or <c>Sqlite</c> (local experiments only: refused on Azure, where an
    /// instance's disk is neither shared nor kept).
    /// </summary>
    public static IServiceCollection AddOkapStores(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var store = configuration["Okap:Store"] ?? "Azure";
        if (string.Equals(store, "Azure", StringComparison.OrdinalIgnoreCase))
        {
            var section = configuration.GetSection("Okap:Azure");
            if (string.IsNullOrWhiteSpace(section["KeyVaultUri"]))
            {
                // Without it no ISecretStore exists and nothing could hold a provider key.
                throw new InvalidOperationException(
                    "Okap:Azure:KeyVaultUri is not set: with Okap:Store=Azure the provider keys live in Key Vault. Set it (locally: a " +
                    "development vault you can reach after 'az login'), or run locally with Okap:Store=Sqlite. See docs/functions.md.");
            }
            return services.AddOkapAzureStores(section);
        }
        if (string.Equals(store, "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            if (RunsOnAzure(configuration))
            {
                throw new InvalidOperationException("Okap:Store=Sqlite is for local experiments: on Azure an instance's disk is neither shared nor kept. Use Okap:Store=Azure.");
            }
            services.AddOkapSqliteStore(configuration.GetSection("Okap:Sqlite"));
            services.PostConfigure<SqliteStoreOptions>(o =>
            {
                if (string.IsNullOrEmpty(o.DataDirectory)) o.DataDirectory = "data";
                if (!Path.IsPathRooted(o.DataDirectory)) o.DataDirectory = Path.Combine(environment.ContentRootPath, o.DataDirectory);
            });
            return services;
        }
        throw new InvalidOperationException($"Okap:Store must be Azure or Sqlite, not '{store}'");
    }

    /// <summary>Creates or migrates the store, and on a vault with no owner yet prints the one-time setup link.</summary>
    public static async Task InitializeOkapAsync(this IHost host)
    {
        var services = host.Services;
        await services.GetRequiredService<IVaultStores>().InitializeAsync(CancellationToken.None);

        // Signed in by App Service Authentication, owners are created at their first sign-in: no setup link.
        if (services.GetRequiredService<IOptions<OkapAuthOptions>>().Value.TrustAppServicePrincipal) return;

        var configuration = services.GetRequiredService<IConfiguration>();
        var publicUrl = configuration["Okap:PublicUrl"]?.TrimEnd('/')
            ?? (configuration["WEBSITE_HOSTNAME"] is { Length: > 0 } hostName ? "https://" + hostName : "http://localhost:7071");
        var setupToken = await services.GetRequiredService<AccountService>().IssueSetupTokenAsync(CancellationToken.None);
        if (setupToken is not null)
        {
            // This instance alone knows the link (until it stops): open it before the app scales out or idles.
            Console.WriteLine($"OKAP Vault: no account exists yet: open {publicUrl}/#/setup?token={setupToken} to create the first one (the link works once, on this instance, until it stops).");
        }
    }

    /// <summary>True inside Azure App Service / Functions (the platform sets these).</summary>
    private static bool RunsOnAzure(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["WEBSITE_INSTANCE_ID"]) || !string.IsNullOrEmpty(configuration["WEBSITE_OWNER_NAME"])
        || !string.IsNullOrEmpty(configuration["CONTAINER_NAME"]);
}
