using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Okap.Protocol;

namespace Okap.Proxy;

/// <summary>Writes the protocol's error body, with the extra fields each provider's SDK parses.</summary>
internal static class ProxyErrors
{
    /// <summary>
    /// <c>{"type":"error","error":{"type","message","code"}}</c>: the OKAP shape; OpenAI SDKs read <c>error.code</c>,
    /// Anthropic SDKs read the top-level <c>"type": "error"</c>. Gemini clients also get <c>error.status</c>, Cohere
    /// clients a top-level <c>message</c>. <paramref name="retryAfter"/> is set only for a short wait worth retrying after.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, int status, string type, string message, string? provider, TimeSpan? retryAfter = null)
    {
        var response = context.Response;
        ProxyTelemetry.Refused(context, type);
        if (response.HasStarted) return;
        response.Headers.Clear();
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        InertResponse.AddVaultHeaders(response.Headers);
        // SDKs sleep for whatever Retry-After says before retrying (the .NET OpenAI SDK uncapped, three times), so it is
        // sent only with a short, honest wait (the caller decides). Every other refusal tells the SDKs that read it
        // (Stainless-generated: npm/Python OpenAI and Anthropic, .NET Anthropic) not to retry at all.
        if (retryAfter is { } ra)
        {
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(ra.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            response.Headers["retry-after-ms"] = Math.Max(1, (long)Math.Ceiling(ra.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
            response.Headers["x-should-retry"] = "true";
        }
        else if (status is >= 400 and < 500)
        {
            response.Headers["x-should-retry"] = "false";
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (provider is "google" or "cohere")
            {
                writer.WriteStartObject();
                writer.WriteString("type", "error");
                if (provider == "cohere") writer.WriteString("message", message);
                writer.WriteStartObject("error");
                writer.WriteString("type", type);
                writer.WriteString("message", message);
                writer.WriteString("code", type);
                if (provider == "google") writer.WriteString("status", GoogleStatus(status));
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            else
            {
                JsonSerializer.Serialize(writer, new OkapErrorBody { Type = "error", Error = new OkapError { Type = type, Message = message, Code = type } },
                    OkapJsonContext.Default.OkapErrorBody);
            }
        }
        response.ContentLength = buffer.WrittenCount;
        try
        {
            await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // client gone
        }
        catch (IOException)
        {
            // client gone
        }
    }

    private static string GoogleStatus(int status) => status switch
    {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        402 or 429 => "RESOURCE_EXHAUSTED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        413 => "INVALID_ARGUMENT",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
}
