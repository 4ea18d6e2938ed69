using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Okap.AspNetCore;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Keys;
using Okap.Storage.Azure.DataProtection;
using Okap.Storage.Sqlite;

namespace Okap.Functions;

/// <summary>Host wiring only: which store, start-up.</summary>
internal static class FunctionsWiring
{
    /// <summary>
    /// Chooses the store by <c>Okap:Store</c>: <c>Azure</c> (default: Table Storage, or Azurite through
    /// <c>Okap:Azure:ConnectionString</c>) or <c>Sqlite</c> (local experiments only). With <c>Azure</c>, master keys are
    /// kept by <c>Okap:Azure:SecretStore</c>: <c>KeyVault</c> (default; needs <c>Okap:Azure:KeyVaultUri</c>) or
    /// <c>DataProtection</c> (encrypted in a table of the same account, for local runs on Azurite). Sqlite and
    /// DataProtection are refused on Azure, where an instance's disk is neither shared nor kept and keys belong in Key Vault.
    /// </summary>
    public static IServiceCollection AddOkapStores(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var store = configuration["Okap:Store"] ?? "Azure";
        if (string.Equals(store, "Azure", StringComparison.OrdinalIgnoreCase))
        {
            var section = configuration.GetSection("Okap:Azure");
            var secretStore = section["SecretStore"] is { Length: > 0 } named ? named : "KeyVault";
            if (string.Equals(secretStore, "DataProtection", StringComparison.OrdinalIgnoreCase))
            {
                if (RunsOnAzure(configuration))
                {
                    throw new InvalidOperationException(
                        "Okap:Azure:SecretStore=DataProtection is for local runs on Azurite: on Azure the provider keys belong in Key Vault. Set Okap:Azure:SecretStore=KeyVault and Okap:Azure:KeyVaultUri.");
                }
                if (!string.IsNullOrWhiteSpace(section["KeyVaultUri"]))
                {
                    throw new InvalidOperationException("Okap:Azure:KeyVaultUri and Okap:Azure:SecretStore=DataProtection are both set: choose one place for the provider keys.");
                }
                return services.AddOkapAzureStores(section).AddOkapTableSecretStore();
            }
            if (!string.Equals(secretStore, "KeyVault", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"Okap:Azure:SecretStore must be KeyVault or DataProtection, not '{secretStore}'");
            }
            if (string.IsNullOrWhiteSpace(section["KeyVaultUri"]))
            {
                // Without it no ISecretStore exists and nothing could hold a provider key.
                throw new InvalidOperationException(
                    "Okap:Azure:KeyVaultUri is not set: with Okap:Store=Azure the provider keys live in Key Vault. Set it, or for a local run " +
                    "on Azurite set Okap:Azure:SecretStore=DataProtection (as local.settings.sample.json does). See docs/functions.md.");
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
        var configuration = services.GetRequiredService<IConfiguration>();

        // Said once at start-up, so nobody mistakes a local run's key storage for the hosted one.
        if (services.GetRequiredService<ISecretStore>() is TableDataProtectionSecretStore)
        {
            Console.WriteLine("OKAP Vault: provider keys are encrypted with ASP.NET Core Data Protection in Table Storage, key ring in the same account " +
                "(Okap:Azure:SecretStore=DataProtection): for local runs on Azurite only; on Azure use Key Vault.");
        }
        else if (services.GetRequiredService<IVaultStores>() is SqliteVaultStores)
        {
            Console.WriteLine("OKAP Vault: everything, provider keys included, is kept in SQLite on this machine's disk (Okap:Store=Sqlite): for local experiments only.");
        }

        // Signed in by App Service Authentication, owners are created at their first sign-in: no setup link.
        if (services.GetRequiredService<IOptions<OkapAuthOptions>>().Value.TrustAppServicePrincipal) return;

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
