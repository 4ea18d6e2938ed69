using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Okap.Functions.Tests;

/// <summary>Every route + method the self-hosted server (<c>Okap.Server</c>) maps, read from its endpoint list.</summary>
public sealed class ServerRoutes : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "okap-functions-tests-" + Guid.NewGuid().ToString("N"));

    public ServerRoutes()
    {
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder
            .UseSetting("Okap:Store", "Sqlite")
            .UseSetting("Okap:Sqlite:DataDirectory", _dataDirectory));
        var endpoints = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>();
        Routes = endpoints
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } methods ? methods : RoutePatterns.AnyMethod)
                .Select(m => $"{m.ToUpperInvariant()} {RoutePatterns.Normalise(e.RoutePattern.RawText ?? "")}"))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary><c>"METHOD /normalised/route"</c> entries.</summary>
    public IReadOnlySet<string> Routes { get; }

    public void Dispose()
    {
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
