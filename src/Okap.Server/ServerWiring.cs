using Microsoft.AspNetCore.HttpOverrides;
using Okap.Core.Services;
using Okap.Core.Stores;
using Okap.Storage.Azure;
using Okap.Storage.Sqlite;

namespace Okap.Server;

/// <summary>Host wiring only: which store, proxy headers, start-up message.</summary>
internal static class ServerWiring
{
    /// <summary>Chooses the store by <c>Okap:Store</c>: <c>Sqlite</c> (default, in the data folder) or <c>Azure</c>.</summary>
    public static IServiceCollection AddOkapStores(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var store = configuration["Okap:Store"] ?? "Sqlite";
        if (string.Equals(store, "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            var section = configuration.GetSection("Okap:Sqlite");
            services.AddOkapSqliteStore(section);
            services.PostConfigure<SqliteStoreOptions>(o =>
            {
                if (string.IsNullOrEmpty(o.DataDirectory)) o.DataDirectory = "data";
                if (!Path.IsPathRooted(o.DataDirectory)) o.DataDirectory = Path.Combine(environment.ContentRootPath, o.DataDirectory);
            });
            return services;
        }
        if (string.Equals(store, "Azure", StringComparison.OrdinalIgnoreCase))
        {
            services.AddOkapAzureStores(configuration.GetSection("Okap:Azure"));
            return services;
        }
        throw new InvalidOperationException($"Okap:Store must be Sqlite or Azure, not '{store}'");
    }

    /// <summary>Behind a reverse proxy, set <c>Okap:ForwardedHeaders:KnownProxies</c> so client addresses are the real ones.</summary>
    public static IServiceCollection AddOkapForwardedHeaders(this IServiceCollection services, IConfiguration configuration)
    {
        var proxies = configuration.GetSection("Okap:ForwardedHeaders:KnownProxies").Get<string[]>() ?? [];
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.KnownIPNetworks.Clear();
            o.KnownProxies.Clear();
            foreach (var proxy in proxies) o.KnownProxies.Add(System.Net.IPAddress.Parse(proxy));
        });
        return services;
    }

    public static void UseOkapForwardedHeaders(this WebApplication app)
    {
        if (app.Configuration.GetSection("Okap:ForwardedHeaders:KnownProxies").Get<string[]>() is { Length: > 0 }) app.UseForwardedHeaders();
    }

    /// <summary>Creates or migrates the store, and on a vault with no account yet prints the one-time setup link.</summary>
    public static async Task InitializeOkapAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<IVaultStores>().InitializeAsync(CancellationToken.None);
        var publicUrl = app.Configuration["Okap:PublicUrl"]?.TrimEnd('/') ?? "http://localhost:5080";
        var setupToken = await app.Services.GetRequiredService<AccountService>().IssueSetupTokenAsync(CancellationToken.None);
        var message = setupToken is null
            ? $"OKAP Vault is running: open {publicUrl}/ to sign in."
            : $"OKAP Vault is running. No account exists yet: open {publicUrl}/#/setup?token={setupToken} to create the first one (the link works once, until restart).";
        app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine(message));
    }
}
