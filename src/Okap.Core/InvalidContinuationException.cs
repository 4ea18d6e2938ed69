namespace Okap.Core;

/// <summary>
/// A listing's continuation token was not one the store issued (tampered, truncated, from another listing): the
/// caller's input, answered 400. Derives from <see cref="ArgumentException"/>, which stores threw before.
/// </summary>
public sealed class InvalidContinuationException : ArgumentException
{
    /// <summary>Creates the exception for parameter <paramref name="paramName"/>.</summary>
    public InvalidContinuationException(string paramName) : base("The continuation token is not valid.", paramName) { }
}
