using System.Net.Http.Headers;
using Microsoft.AspNetCore.Http;
using Okap.Protocol;
using Okap.Proxy.Pipeline;
using Yarp.ReverseProxy.Forwarder;

namespace Okap.Proxy;

/// <summary>
/// Request: copies the client's headers (YARP's default), then removes every client credential, cookie, forwarding
/// and hosting-platform identity header, points the request at the resolved upstream URI and adds the master key in
/// the provider's header. Response: makes the answer inert in a browser (<see cref="InertResponse"/>), refuses
/// redirects, and sets up the usage meter.
/// </summary>
internal sealed class ProxyTransformer : HttpTransformer
{
    private static readonly string[] s_strippedRequestHeaders =
    [
        "Authorization", "x-api-key", "x-goog-api-key", "api-key", "Cookie", "Proxy-Authorization",
        "OpenAI-Organization", "OpenAI-Project", "Accept-Encoding",
        "Forwarded", "X-Real-IP", "X-Client-IP", "Client-IP", "True-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP",
        "DISGUISED-HOST", "WAS-DEFAULT-HOSTNAME", "Max-Forwards", "Via", "Origin", "Referer",
    ];

    // Headers a hosting platform or edge adds about the caller, the signed-in principal or the vault itself
    // (App Service Authentication's X-MS-TOKEN-AAD-* tokens and X-MS-CLIENT-PRINCIPAL*, X-Original-URL, X-ARR-*,
    // Front Door's X-Azure-*, every X-Forwarded-*): none is the provider's business, some are credentials.
    private static readonly string[] s_strippedRequestPrefixes =
    [
        "X-MS-", "X-Forwarded-", "X-Original-", "X-ARR-", "X-Azure-", "X-WAWS-", "X-AppService-", "X-Site-", "X-FD-", "X-Okap-",
        "X-Client-", "X-Envoy-", "X-Amzn-", "CF-",
    ];

    public static readonly ProxyTransformer Instance = new();

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        var call = httpContext.Features.Get<ProxyCall>()!;
        proxyRequest.RequestUri = call.UpstreamUri;
        var headers = proxyRequest.Headers;
        foreach (var name in s_strippedRequestHeaders) headers.Remove(name);
        RemovePrefixed(httpContext.Request.Headers, proxyRequest);
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

    // The client's headers are walked (not the outgoing message's, whose enumeration allocates), and only names that match are removed.
    private static void RemovePrefixed(IHeaderDictionary incoming, HttpRequestMessage proxyRequest)
    {
        foreach (var header in incoming)
        {
            var name = header.Key;
            foreach (var prefix in s_strippedRequestPrefixes)
            {
                if (!name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) continue;
                if (!proxyRequest.Headers.Remove(name)) proxyRequest.Content?.Headers.Remove(name);
                break;
            }
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is not null) ProxyTelemetry.UpstreamFirstByte(httpContext);
        var result = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        var response = httpContext.Response;
        var call = httpContext.Features.Get<ProxyCall>();
        if (proxyResponse is not null && IsRedirect((int)proxyResponse.StatusCode))
        {
            // A redirect is neither followed (the handler never does) nor passed on: passed on, it would steer a browser
            // (a navigation from the vault's origin) or an SDK (which re-sends the token to wherever it points).
            await ProxyErrors.WriteAsync(httpContext, 502, OkapErrorTypes.UpstreamUnavailable,
                $"The provider answered with a redirect ({(int)proxyResponse.StatusCode}), which the vault neither follows nor passes on.", call?.Provider).ConfigureAwait(false);
            return false;
        }
        InertResponse.Apply(response);
        if (call?.Meter is { } meter && proxyResponse is not null)
        {
            var contentType = proxyResponse.Content.Headers.ContentType?.MediaType;
            meter.Start((int)proxyResponse.StatusCode, contentType, call.DropUsageChunks);
            // Leaving out a chunk changes the length: let the server frame the body itself.
            if (call.DropUsageChunks && meter.Started) response.ContentLength = null;
        }
        return result;
    }

    private static bool IsRedirect(int status) => status is >= 300 and < 400 and not 304;
}
