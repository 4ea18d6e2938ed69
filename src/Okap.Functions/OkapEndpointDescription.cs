using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Okap.AspNetCore;

namespace Okap.Functions;

/// <summary>
/// The endpoints the self-hosted server maps (<see cref="OkapEndpointRouteBuilderExtensions.MapOkap"/> and
/// <see cref="OkapProxyEndpointRouteBuilderExtensions.MapOkapProxy"/>), built here
/// only to be described: they are the application's endpoint list that the OpenAPI generator reads, but the worker
/// never routes a request to them (functions do). So <c>/okap/{documentName}.json</c> on Azure is the server's
/// document, made by the same code.
/// </summary>
public sealed class OkapEndpointDescription : IEndpointRouteBuilder
{
    /// <summary>The OpenAPI document route of <see cref="OkapEndpointRouteBuilderExtensions.MapOkap"/>.</summary>
    public static readonly string OpenApiPattern = Protocol.OkapPaths.Rooted(Protocol.OkapPaths.OpenApiDocument);

    public OkapEndpointDescription(IServiceProvider services)
    {
        ServiceProvider = services;
        this.MapOkap();
        this.MapOkapProxy();
    }

    public IServiceProvider ServiceProvider { get; }

    public ICollection<EndpointDataSource> DataSources { get; } = [];

    public IApplicationBuilder CreateApplicationBuilder() => new ApplicationBuilder(ServiceProvider);

    /// <summary>Serves the OpenAPI document exactly as the server's endpoint does (route value <c>documentName</c>).</summary>
    public Task WriteOpenApiDocumentAsync(HttpContext context)
    {
        var endpoint = DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .FirstOrDefault(e => e.RoutePattern.RawText == OpenApiPattern)
            ?? throw new InvalidOperationException($"MapOkap no longer maps {OpenApiPattern}: update the OpenApiDocument function.");
        return endpoint.RequestDelegate!(context);
    }
}

internal static class OkapEndpointDescriptionExtensions
{
    /// <summary>
    /// Routing services, and the server's endpoints as the application's endpoint list (the <see cref="EndpointDataSource"/>
    /// service) that the OpenAPI generator and link generation read. The worker's own routing does not use that list:
    /// it matches functions only.
    /// </summary>
    public static IServiceCollection AddOkapOpenApiDescription(this IServiceCollection services)
    {
        services.AddRouting();
        services.AddSingleton<OkapEndpointDescription>();
        services.AddSingleton<EndpointDataSource>(sp => new CompositeEndpointDataSource(sp.GetRequiredService<OkapEndpointDescription>().DataSources));
        return services;
    }
}
