using Okap.Core.Requests;

namespace Okap.Core;

/// <summary>How an owner operation ended; endpoints map it to a status code.</summary>
public enum Outcome
{
    Ok,
    NotFound,
    /// <summary>The resource is not in a state that allows the operation (e.g. deciding a request already decided).</summary>
    Conflict,
    Invalid,
}

/// <summary>Result of an owner operation.</summary>
public readonly record struct Result<T>(Outcome Outcome, T? Value, FieldError? Error = null, string? Message = null)
{
    public static Result<T> Ok(T value) => new(Outcome.Ok, value);
    public static Result<T> NotFound() => new(Outcome.NotFound, default);
    public static Result<T> Conflict(string message) => new(Outcome.Conflict, default, null, message);
    public static Result<T> Invalid(string field, string message) => new(Outcome.Invalid, default, new FieldError(field, message), message);
}
