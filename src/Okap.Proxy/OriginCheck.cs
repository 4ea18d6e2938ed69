using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core;

namespace Okap.Proxy;

/// <summary>The proxy answers only on its own origin when it has one (<see cref="VaultOrigins"/>).</summary>
internal static class OriginCheck
{
    public const string WrongOriginMessage = "The proxy is not served at this address; use the base_url the vault gave with the token.";

    public static bool ServesProxy(HttpContext context)
    {
        var origins = context.RequestServices.GetRequiredService<VaultOrigins>();
        if (!origins.Separate) return true;
        var request = context.Request;
        return origins.ServesProxy(origins.RequestHost(request.Host.Value, h => request.Headers[h].ToString()));
    }
}
