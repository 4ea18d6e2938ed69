using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Okap.Proxy;

/// <summary>
/// Request: copies the client's headers (YARP's default), then removes every client credential, cookie and
/// forwarding header, points the request at the resolved upstream URI and adds the master key in the provider's
/// header. Response: drops cookies and sets up the usage meter.
/// </summary>
internal sealed class ProxyTransformer : HttpTransformer
{
    private static readonly string[] s_strippedRequestHeaders =
    [
        "Authorization", "x-api-key", "x-goog-api-key", "api-key", "Cookie", "Proxy-Authorization",
        "OpenAI-Organization", "OpenAI-Project", "Accept-Encoding",
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix", "X-Real-IP",
    ];

    public static readonly ProxyTransformer Instance = new();

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        var call = httpContext.Features.Get<ProxyCall>()!;
        proxyRequest.RequestUri = call.UpstreamUri;
        var headers = proxyRequest.Headers;
        foreach (var name in s_strippedRequestHeaders) headers.Remove(name);
        headers.Host = null;
        var target = call.Target;
        if (target.ManagedIdentity)
        {
            headers.TryAddWithoutValidation("Authorization", call.BearerOverride);
        }
        else if (target.AuthHeader is not null)
        {
            headers.TryAddWithoutValidation(target.AuthHeader, target.AuthValue);
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        var result = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        var response = httpContext.Response;
        response.Headers.Remove("Set-Cookie");
        var call = httpContext.Features.Get<ProxyCall>();
        if (call?.Meter is { } meter && proxyResponse is not null)
        {
            var contentType = proxyResponse.Content.Headers.ContentType?.MediaType;
            meter.Start((int)proxyResponse.StatusCode, contentType, call.DropUsageChunks);
            // Leaving out a chunk changes the length: let the server frame the body itself.
            if (call.DropUsageChunks && meter.Started) response.ContentLength = null;
        }
        return result;
    }
}
