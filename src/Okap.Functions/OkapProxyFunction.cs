using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Okap.Proxy;

namespace Okap.Functions;

/// <summary>
/// <c>/v1/{provider}/{**path}</c>, every method: the OKAP proxy, the same handler the self-hosted server maps. It
/// forwards to the provider and streams the answer straight into the response (nothing buffered here).
/// </summary>
public sealed class OkapProxyFunction(ProxyHandler proxy)
{
    [Function(nameof(Proxy))]
    public Task Proxy(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete", "head", "options", Route = "v1/{provider}/{*path}")] HttpRequest req)
    {
        var values = req.HttpContext.Request.RouteValues;
        return proxy.HandleAsync(req.HttpContext, values["provider"]?.ToString() ?? "", values["path"]?.ToString());
    }
}
