using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Okap.Core.Metering;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// Reads a metered call's JSON body (bounded by <see cref="OkapProxyOptions.MaxBufferedBodyBytes"/>, into a pooled
/// buffer) and what it asks for: model, stream, output ceiling, choices. A token with model or spend limits may not
/// send a body the vault cannot read.
/// </summary>
internal sealed class InspectBodyStep(IOptions<OkapProxyOptions> options, RefusalWriter refusals) : IProxyStep
{
    private readonly long _maxBody = options.Value.MaxBufferedBodyBytes;

    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        var request = call.Http.Request;
        if (!call.Route.IsMetered || !HasBody(request)) return Step.Next;
        if (!IsJson(request.ContentType))
        {
            var limits = call.Grant.Limits;
            var restrictive = call.Grant.Models.Count > 0 || limits.HasSpendCap || limits.TokensPerRequest is not null;
            return restrictive
                ? Step.Stop(refusals.RefuseAsync(call, 400, OkapErrorTypes.InvalidRequest, "This OKAP token has model or spend limits, which the vault can only check on JSON requests."))
                : Step.Next;
        }
        if (request.ContentLength > _maxBody) return Step.Stop(RefusalWriter.PayloadTooLargeAsync(call));
        return ReadAndInspectAsync(call);
    }

    private async ValueTask<bool> ReadAndInspectAsync(ProxyCall call)
    {
        var (body, length) = await ReadBodyAsync(call.Http.Request, _maxBody, call.Http.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            await RefusalWriter.PayloadTooLargeAsync(call).ConfigureAwait(false);
            return false;
        }
        call.Body = body;
        call.BodyLength = length;
        var facts = RequestInspector.Inspect(body.AsSpan(0, length));
        call.Facts = facts;
        if (!facts.IsJsonObject)
        {
            await RefusalWriter.ErrorAsync(call, 400, OkapErrorTypes.InvalidRequest, "The request body is not a JSON object.").ConfigureAwait(false);
            return false;
        }
        if (facts.Problem is not null)
        {
            await RefusalWriter.ErrorAsync(call, 400, OkapErrorTypes.InvalidRequest, "The vault cannot check this request: " + facts.Problem).ConfigureAwait(false);
            return false;
        }
        return true;
    }

    // HTTP/2 and HTTP/3 bodies need neither Content-Length nor Transfer-Encoding: ask the server whether one can follow.
    private static bool HasBody(HttpRequest request) =>
        request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { } detection
            ? detection.CanHaveBody
            : request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static bool IsJson(string? contentType) =>
        contentType is null || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) || contentType.Contains("+json", StringComparison.OrdinalIgnoreCase);

    /// <summary>The body in a buffer rented from the shared pool, or (null, 0) when it is longer than <paramref name="max"/>.</summary>
    private static async ValueTask<(byte[]? Buffer, int Length)> ReadBodyAsync(HttpRequest request, long max, CancellationToken ct)
    {
        var initial = (int)Math.Min(max + 1, request.ContentLength is { } len ? len + 1 : 16 * 1024);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 512));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max) break;
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    Buffer.BlockCopy(buffer, 0, bigger, 0, length);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (read == 0) break;
                length += read;
                if (length > max) break;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        if (length > max)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, 0);
        }
        return (buffer, length);
    }
}
