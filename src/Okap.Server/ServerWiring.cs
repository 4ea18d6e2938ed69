using Microsoft.AspNetCore.HttpOverrides;
using Okap.Hosting;

namespace Okap.Server;

/// <summary>What only the self-hosted server wires: forwarded headers behind a reverse proxy, and printing the start-up lines.</summary>
internal static class ServerWiring
{
    /// <summary>
    /// Behind a reverse proxy, set <c>Okap:ForwardedHeaders:KnownProxies</c> (addresses) or <c>KnownNetworks</c> (CIDR) so
    /// client addresses and the scheme are the real ones. An https <c>Okap:PublicUrl</c> served over plain http with
    /// neither set is refused at start-up (<see cref="TlsTerminationCheck"/>): its secure cookies could never work.
    /// </summary>
    public static IServiceCollection AddOkapForwardedHeaders(this IServiceCollection services, IConfiguration configuration)
    {
        var proxies = configuration.GetSection(KnownProxiesKey).Get<string[]>() ?? [];
        var networks = configuration.GetSection(KnownNetworksKey).Get<string[]>() ?? [];
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.KnownIPNetworks.Clear();
            o.KnownProxies.Clear();
            foreach (var proxy in proxies)
            {
                if (!System.Net.IPAddress.TryParse(proxy, out var address)) throw new InvalidOperationException($"{KnownProxiesKey}: '{proxy}' is not an IP address.");
                o.KnownProxies.Add(address);
            }
            foreach (var network in networks)
            {
                if (!System.Net.IPNetwork.TryParse(network, out var parsed)) throw new InvalidOperationException($"{KnownNetworksKey}: '{network}' is not a CIDR network (e.g. 10.0.0.0/8).");
                o.KnownIPNetworks.Add(parsed);
            }
        });
        services.AddHostedService<TlsTerminationCheck>();
        return services;
    }

    internal const string KnownProxiesKey = "Okap:ForwardedHeaders:KnownProxies";
    internal const string KnownNetworksKey = "Okap:ForwardedHeaders:KnownNetworks";

    internal static bool TrustsForwardedHeaders(IConfiguration configuration) =>
        configuration.GetSection(KnownProxiesKey).Get<string[]>() is { Length: > 0 } || configuration.GetSection(KnownNetworksKey).Get<string[]>() is { Length: > 0 };

    public static void UseOkapForwardedHeaders(this WebApplication app)
    {
        if (TrustsForwardedHeaders(app.Configuration)) app.UseForwardedHeaders();
    }

    /// <summary>Creates or migrates the store; prints the start-up lines (the one-time setup link) once the server listens.</summary>
    public static async Task InitializeOkapAsync(this WebApplication app)
    {
        var lines = await app.Services.InitializeOkapAsync(OkapHostProfile.Server);
        app.Lifetime.ApplicationStarted.Register(() => { foreach (var line in lines) Console.WriteLine(line); });
    }
}

/// <summary>
/// Once the server listens: an https <c>Okap:PublicUrl</c> on a server that listens on http only, with no trusted
/// reverse proxy to say the client's connection was https, is a configuration error. Left running, every secure
/// cookie (session, anti-forgery) would fail on each request: a clear refusal to start is kinder than 500s.
/// </summary>
internal sealed class TlsTerminationCheck(Microsoft.AspNetCore.Hosting.Server.IServer server, IConfiguration configuration) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        var publicUrl = configuration["Okap:PublicUrl"];
        if (publicUrl is null || !publicUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || ServerWiring.TrustsForwardedHeaders(configuration)) return Task.CompletedTask;
        var addresses = server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
        // No addresses: not a socket server (the in-memory test server); nothing to judge.
        if (addresses.Count == 0 || addresses.Any(a => a.StartsWith("https://", StringComparison.OrdinalIgnoreCase))) return Task.CompletedTask;
        throw new InvalidOperationException(
            $"Okap:PublicUrl is {publicUrl} but this server listens on http only ({string.Join(", ", addresses)}). Behind a reverse proxy that " +
            $"terminates TLS, set {ServerWiring.KnownProxiesKey} (its IP addresses) or {ServerWiring.KnownNetworksKey} (CIDR) so the vault " +
            "trusts its X-Forwarded-Proto; otherwise give Kestrel a certificate and an https endpoint.");
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
