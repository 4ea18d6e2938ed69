using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Okap.AspNetCore.Auth;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Audit;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>
/// What every admin handler does first, in one place: resolve the signed-in owner (refusing a call without one, or a
/// key without the route's scope) and pass only that owner's id on, so no route can reach another owner's data; name
/// the credential that acts in the audit; and answer a tampered listing continuation with a 400, not a 500.
/// </summary>
public sealed class AdminCall(OwnerAccess access, IOptions<OkapHttpOptions> httpOptions)
{
    private readonly int _maxBody = httpOptions.Value.MaxBodyBytes;

    /// <summary>Runs <paramref name="action"/> for the signed-in owner, or answers the refusal.</summary>
    public async Task<IResult> AsOwner(HttpContext context, Func<string, CancellationToken, Task<IResult>> action)
    {
        var (owner, error) = await access.RequireOwnerAsync(context);
        if (error is not null) return error;
        using var actor = AuditActor.Use(OwnerAuth.ActorOf(context.User));
        try
        {
            return await action(owner!, context.RequestAborted);
        }
        catch (InvalidContinuationException)
        {
            return Errors.Invalid("continuation", "not a continuation token this listing returned; list again without it");
        }
    }

    /// <summary>The JSON body, read within <c>Okap:Http:MaxBodyBytes</c>, or the 400/413/415 that says why not.</summary>
    public Task<(T? Value, IResult? Error)> BodyAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo, CancellationToken ct) where T : class =>
        BoundedJson.ReadAsync(context.Request, typeInfo, _maxBody, ct);

    /// <summary>True when the call carries a body at all (approve as asked and deny without a reason send none).</summary>
    public static bool HasBody(HttpContext context) => context.Request.ContentLength is > 0 || context.Request.ContentType is not null;
}

/// <summary>How admin handlers answer: a core <see cref="Result{T}"/> as its view or its refusal, and the shared query parameters.</summary>
internal static class AdminReplies
{
    public static IResult Map<T, TView>(Result<T> result, Func<T, TView> view, JsonTypeInfo<TView> typeInfo, string what,
        int okStatus = StatusCodes.Status200OK) => result.Outcome switch
    {
        Outcome.Ok => TypedResults.Json(view(result.Value!), typeInfo, statusCode: okStatus),
        Outcome.NotFound => Errors.NotFound(what),
        Outcome.Conflict => Errors.Conflict(result.Message!),
        _ => Errors.Invalid(result.Error!),
    };

    /// <summary><c>page_size</c>: 50 when absent, null (refused) outside 1 to 200.</summary>
    public static int? PageSize(HttpContext context)
    {
        if (!context.Request.Query.TryGetValue("page_size", out var text) || string.IsNullOrEmpty(text)) return 50;
        return int.TryParse(text, out var size) && size is >= 1 and <= 200 ? size : null;
    }

    public static IResult BadPageSize() => Errors.Invalid("page_size", "page_size is 1 to 200");

    /// <summary>The <c>format</c> query parameter: json (the default) or csv; null for anything else.</summary>
    public static string? Format(HttpContext context) => context.Request.Query["format"].ToString() switch
    {
        "" or "json" => "json",
        "csv" => "csv",
        _ => null,
    };

    public static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
