using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Okap.Core;
using Okap.Protocol;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy;

/// <summary>
/// Handles one proxied call, <c>/v1/{provider}/{**path}</c>: runs it through the <see cref="ProxyPipeline"/> (token,
/// route, body, model, price, upstream, budget, credential, meter, forward, settle) and turns what escapes a step into
/// an error body. Hosts call <see cref="HandleAsync"/> directly (the ASP.NET Core endpoint from <c>MapOkapProxy</c>, or
/// an Azure Functions trigger).
/// </summary>
public sealed class ProxyHandler
{
    /// <summary>Error type for unexpected failures inside the vault (not in the protocol's list).</summary>
    public const string InternalError = "internal_error";

    private readonly ProxyPipeline _pipeline;
    private readonly ILogger<ProxyHandler> _logger;

    internal ProxyHandler(ProxyPipeline pipeline, ILogger<ProxyHandler> logger)
    {
        _pipeline = pipeline;
        _logger = logger;
    }

    /// <summary>Proxies <paramref name="context"/>'s request to <paramref name="provider"/>; <paramref name="path"/> is the part after <c>/v1/{provider}/</c>.</summary>
    public async Task HandleAsync(HttpContext context, string provider, string? path)
    {
        var telemetry = ProxyTelemetry.Start(context);
        try
        {
            await _pipeline.RunAsync(new ProxyCall(context, provider, path ?? string.Empty)).ConfigureAwait(false);
        }
        catch (VaultUnavailableException ex)
        {
            Log.StoreUnavailable(_logger, provider, ex.Message);
            await ProxyErrors.WriteAsync(context, 503, OkapErrorTypes.VaultUnavailable, "The vault cannot reach its storage right now; try again shortly.", provider).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception ex) when (ex is not BadHttpRequestException && ex is not OperationCanceledException)
        {
            Log.Unexpected(_logger, provider, ex.GetType().Name, ex);
            await ProxyErrors.WriteAsync(context, 500, InternalError, "The vault failed to handle this call.", provider).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await ProxyErrors.WriteAsync(context, ex.StatusCode == 413 ? 413 : 400, ex.StatusCode == 413 ? OkapErrorTypes.PayloadTooLarge : OkapErrorTypes.InvalidRequest,
                "The request body could not be read.", provider).ConfigureAwait(false);
        }
        finally
        {
            if (telemetry is not null) ProxyTelemetry.Complete(telemetry, context);
        }
    }
}
