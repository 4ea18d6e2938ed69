using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Okap.Protocol;

namespace Okap.Functions;

/// <summary><c>GET /okap/{documentName}.json</c>: the OpenAPI document, the same one the self-hosted server serves.</summary>
public sealed class OpenApiFunction
{
    private readonly OkapEndpointDescription _description;

    public OpenApiFunction(OkapEndpointDescription description) => _description = description;

    [Function(OkapRouteNames.OpenApiDocument)]
    public Task OpenApiDocument([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = OkapPaths.OpenApiDocument)] HttpRequest req) =>
        _description.WriteOpenApiDocumentAsync(req.HttpContext);
}
