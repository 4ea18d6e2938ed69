using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Okap.Core.Requests;

namespace Okap.AspNetCore.Http;

/// <summary>Reads a JSON body with a size cap, a content-type check and a clear error naming the bad field.</summary>
internal static class BoundedJson
{
    public static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, int maxBytes, CancellationToken ct)
        where T : class
    {
        if (request.ContentLength > maxBytes) return (null, Errors.PayloadTooLarge(maxBytes));
        if (request.ContentType is null || !request.ContentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, Errors.Status(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "send the body as application/json"));
        }
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > maxBytes) return (null, Errors.PayloadTooLarge(maxBytes));
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) return (null, Errors.Invalid("body", "a JSON body is required"));
        try
        {
            var value = JsonSerializer.Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), typeInfo);
            return value is null ? (null, Errors.Invalid("body", "the body must be a JSON object")) : (value, null);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return (null, Errors.Invalid(field, "malformed JSON or wrong type for this field"));
        }
    }
}

/// <summary>Error replies in the protocol's <c>{"error": {"type", "message"}}</c> shape.</summary>
internal static class Errors
{
    public static IResult Status(int status, string type, string message, string? param = null, TimeSpan? retryAfter = null) =>
        new ErrorResult(status, type, message, param, retryAfter);

    public static IResult Invalid(string field, string message) =>
        Status(StatusCodes.Status400BadRequest, Protocol.OkapErrorTypes.InvalidRequest, $"{field}: {message}", field);

    public static IResult Invalid(FieldError error) => Invalid(error.Field, error.Message);

    public static IResult NotFound(string what = "resource") =>
        Status(StatusCodes.Status404NotFound, Protocol.OkapErrorTypes.NotFound, $"{what} not found");

    public static IResult Conflict(string message) => Status(StatusCodes.Status409Conflict, "conflict", message);

    /// <summary>The signed-in session could not be checked because the store is unreachable: neither signed in nor signed out.</summary>
    public static IResult SessionUncheckable() => Status(StatusCodes.Status503ServiceUnavailable, Protocol.OkapErrorTypes.VaultUnavailable,
        "The vault cannot reach its storage to check your session right now, so nothing was done: no change was made or saved. Try again shortly; you are still signed in.", retryAfter: TimeSpan.FromSeconds(5));

    public static IResult Unauthorized() => Status(StatusCodes.Status401Unauthorized, Protocol.OkapErrorTypes.Unauthorized, "sign in or send a personal access key");

    public static IResult PayloadTooLarge(int max) =>
        Status(StatusCodes.Status413PayloadTooLarge, Protocol.OkapErrorTypes.PayloadTooLarge, $"the body is larger than {max} bytes");

    public static IResult TooManyRequests(TimeSpan retryAfter) => new ErrorResult(StatusCodes.Status429TooManyRequests,
        Protocol.OkapErrorTypes.TooManyRequests, "too many requests from this address; slow down", null, retryAfter);
}

/// <summary>One error reply, kept as data so a route can answer it in another shape (the SDK route's <c>approved: false</c>).</summary>
internal sealed class ErrorResult(int status, string type, string message, string? param, TimeSpan? retryAfter) : IResult
{
    public int StatusCode { get; } = status;
    public string Type { get; } = type;
    public string Message { get; } = message;
    public string? Param { get; } = param;
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        if (RetryAfter is { } wait)
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Json(new Protocol.OkapErrorBody { Error = new Protocol.OkapError { Type = Type, Message = Message, Param = Param, Code = Type } },
            Protocol.OkapJsonContext.Default.OkapErrorBody, statusCode: StatusCode).ExecuteAsync(httpContext);
    }
}
