using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Okap.AspNetCore.Auth;
using Okap.AspNetCore.Endpoints;
using Okap.AspNetCore.Endpoints.Admin;
using Okap.AspNetCore.Http;
using Okap.Core;

namespace Okap.AspNetCore;

/// <summary>Registration of the vault's HTTP layer on any ASP.NET Core host.</summary>
public static class OkapServiceCollectionExtensions
{
    /// <summary>
    /// Adds the vault core, owner sign-in and the OKAP, admin and page handlers, with options bound from the
    /// <c>Okap</c> section and validated at start-up. The host adds a store (SQLite or Azure) separately.
    /// </summary>
    public static IServiceCollection AddOkap(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOkapCore(configuration);
        services.AddOptions<OkapHttpOptions>().Bind(configuration.GetSection("Okap:Http")).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OkapAuthOptions>().Bind(configuration.GetSection("Okap:Auth")).ValidateDataAnnotations().ValidateOnStart();
        // One switch for owner upstreams: the admin API accepts what the proxy will call.
        services.AddOptions<OkapAdminOptions>().Configure(o => o.AllowInsecureUpstreams = configuration.GetValue<bool>("Okap:Proxy:AllowInsecureOwnerUpstreams"));

        var auth = configuration.GetSection("Okap:Auth").Get<OkapAuthOptions>() ?? new OkapAuthOptions();
        var publicUrl = configuration["Okap:PublicUrl"];
        var httpsOnly = publicUrl is not null && publicUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        services.AddOwnerAuthentication(auth.TrustAppServicePrincipal, auth.SessionLifetime, auth.SessionMaxAge, httpsOnly);

        services.AddSingleton<PublicRateLimiter>();
        services.AddSingleton<OkapProtocolHandlers>();
        services.AddSingleton<AccountHandlers>();
        services.AddSingleton<SecurityHandlers>();
        services.AddSingleton<Endpoints.Admin.AdminCall>();
        services.AddSingleton<Endpoints.Admin.GrantBodies>();
        // Each feature's endpoint class, as its routes name it: a new feature file needs no line here.
        foreach (var endpoints in OkapRoutes.All.Select(r => r.Endpoints).OfType<Type>().Distinct()) services.TryAddSingleton(endpoints);
        services.AddSingleton<PageHandlers>();
        services.AddSingleton<Health.ReadinessHandler>();
        services.AddHealthChecks()
            .AddCheck<Health.StoreReadinessCheck>("store", tags: [Health.ReadinessHandler.Tag], timeout: TimeSpan.FromSeconds(5))
            .AddCheck<Health.SecretStoreReadinessCheck>("secret_store", tags: [Health.ReadinessHandler.Tag], timeout: TimeSpan.FromSeconds(5));
        services.AddOpenApi("okap");
        // The OpenAPI document describes the wire names (snake_case) the handlers' source-generated serializers write.
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, Protocol.Admin.AdminJsonContext.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, Protocol.OkapJsonContext.Default);
        });

        // Request URLs can carry secrets (a Gemini SDK's ?key=okap_…, a poll handle); ASP.NET Core's per-request
        // information logs print full URLs, so they are kept to warnings.
        services.AddLogging(logging =>
        {
            logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
            logging.AddFilter("Microsoft.AspNetCore.Routing.EndpointMiddleware", LogLevel.Warning);
            logging.AddFilter("Microsoft.AspNetCore.Http.Result", LogLevel.Warning);
            logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        });
        return services;
    }
}

/// <summary>Mapping of the vault's routes.</summary>
public static class OkapEndpointRouteBuilderExtensions
{
    /// <summary>Maps every route of <see cref="OkapRoutes.All"/> and the OpenAPI document at <c>/okap/openapi.json</c>.</summary>
    public static IEndpointRouteBuilder MapOkap(this IEndpointRouteBuilder endpoints)
    {
        foreach (var route in OkapRoutes.All)
        {
            var handler = route.Handler;
            var endpoint = endpoints.MapMethods(route.Pattern, [route.Method], (Delegate)((HttpContext context) => handler(context, context.RequestServices)));
            if (route.Body is not null) endpoint.Accepts(route.Body, route.BodyOptional, "application/json");
            if (route.Reply is not null) endpoint.Produces(StatusCodes.Status200OK, route.Reply, "application/json");
            endpoint.WithName(route.Name).WithTags(route.Tag).WithMetadata([.. route.Metadata]);
        }
        endpoints.MapOpenApi(Protocol.OkapPaths.Rooted(Protocol.OkapPaths.OpenApiDocument));
        return endpoints;
    }
}
