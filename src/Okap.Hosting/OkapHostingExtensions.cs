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
using OpenTelemetry;

namespace Okap.Hosting;

/// <summary>The vault's wiring for any host: every module, the store chosen by configuration, and start-up.</summary>
public static class OkapHostingExtensions
{
    /// <summary>
    /// Adds the HTTP layer (<see cref="OkapServiceCollectionExtensions.AddOkap"/>), the store named by <c>Okap:Store</c>
    /// (<see cref="AddOkapStores"/>), the proxy and telemetry. <paramref name="telemetry"/> lets a host add its own
    /// instrumentation (the Functions worker's invocation spans).
    /// </summary>
    public static IServiceCollection AddOkapVault(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment,
        OkapHostProfile profile, Action<IOpenTelemetryBuilder>? telemetry = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        services.AddOkap(configuration);
        services.AddOkapStores(configuration, environment, profile);
        services.AddOkapProxy(configuration);
        services.AddOkapTelemetry(configuration, telemetry);
        return services;
    }

    /// <summary>
    /// Chooses the store by <c>Okap:Store</c> (default <see cref="OkapHostProfile.DefaultStore"/>): <c>Sqlite</c> (in
    /// <c>Okap:Sqlite:DataDirectory</c>, default <c>data</c> under the content root) or <c>Azure</c> (Table Storage, or
    /// Azurite through <c>Okap:Azure:ConnectionString</c>). With <c>Azure</c>, master keys are kept by
    /// <c>Okap:Azure:SecretStore</c>: <c>KeyVault</c> (default; needs <c>Okap:Azure:KeyVaultUri</c>) or
    /// <c>DataProtection</c> (encrypted in a table of the same account, for local runs on Azurite). Where
    /// <see cref="OkapHostProfile.LocalStoresAreLocalOnly"/>, Sqlite and DataProtection are refused on an Azure instance.
    /// </summary>
    public static IServiceCollection AddOkapStores(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment,
        OkapHostProfile profile)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(profile);
        var store = configuration["Okap:Store"] is { Length: > 0 } named ? named : profile.DefaultStore;
        if (string.Equals(store, "Azure", StringComparison.OrdinalIgnoreCase)) return services.AddAzureStores(configuration, profile);
        if (string.Equals(store, "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            if (profile.LocalStoresAreLocalOnly && RunsOnAzure(configuration))
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
        throw new InvalidOperationException($"Okap:Store must be Sqlite or Azure, not '{store}'");
    }

    private static IServiceCollection AddAzureStores(this IServiceCollection services, IConfiguration configuration, OkapHostProfile profile)
    {
        var section = configuration.GetSection("Okap:Azure");
        var secretStore = section["SecretStore"] is { Length: > 0 } named ? named : "KeyVault";
        if (string.Equals(secretStore, "DataProtection", StringComparison.OrdinalIgnoreCase))
        {
            if (profile.LocalStoresAreLocalOnly && RunsOnAzure(configuration))
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

    /// <summary>
    /// Creates or migrates the store and returns what the host should print once it serves: where local-only stores are
    /// in use, that they are; and on a vault with no account yet, the one-time setup link (not under App Service
    /// Authentication, where owners are created at their first sign-in).
    /// </summary>
    public static async Task<IReadOnlyList<string>> InitializeOkapAsync(this IServiceProvider services, OkapHostProfile profile, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        await services.GetRequiredService<IVaultStores>().InitializeAsync(ct);
        var configuration = services.GetRequiredService<IConfiguration>();
        var lines = new List<string>();

        // Said once at start-up, so nobody mistakes a local run's key storage for the hosted one.
        if (profile.LocalStoresAreLocalOnly && services.GetRequiredService<ISecretStore>() is TableDataProtectionSecretStore)
        {
            lines.Add("OKAP Vault: provider keys are encrypted with ASP.NET Core Data Protection in Table Storage, key ring in the same account " +
                "(Okap:Azure:SecretStore=DataProtection): for local runs on Azurite only; on Azure use Key Vault.");
        }
        else if (profile.LocalStoresAreLocalOnly && services.GetRequiredService<IVaultStores>() is SqliteVaultStores)
        {
            lines.Add("OKAP Vault: everything, provider keys included, is kept in SQLite on this machine's disk (Okap:Store=Sqlite): for local experiments only.");
        }

        var publicUrl = configuration["Okap:PublicUrl"]?.TrimEnd('/')
            ?? (configuration["WEBSITE_HOSTNAME"] is { Length: > 0 } hostName ? "https://" + hostName : profile.DefaultPublicUrl);
        if (services.GetRequiredService<IOptions<OkapAuthOptions>>().Value.TrustAppServicePrincipal)
        {
            lines.Add($"OKAP Vault is running: open {publicUrl}/ to sign in.");
            return lines;
        }
        var setupToken = await services.GetRequiredService<AccountService>().IssueSetupTokenAsync(ct);
        // This instance alone knows the link (until it stops): on a scaled-out app, open it before it scales or idles.
        lines.Add(setupToken is null
            ? $"OKAP Vault is running: open {publicUrl}/ to sign in."
            : $"OKAP Vault: no account exists yet: open {publicUrl}/#/setup?token={setupToken} to create the first one (the link works once, on this instance, until it stops).");
        return lines;
    }

    /// <summary>True inside Azure App Service / Functions (the platform sets these).</summary>
    private static bool RunsOnAzure(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["WEBSITE_INSTANCE_ID"]) || !string.IsNullOrEmpty(configuration["WEBSITE_OWNER_NAME"])
        || !string.IsNullOrEmpty(configuration["CONTAINER_NAME"]);
}
