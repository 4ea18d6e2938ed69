using System.Net;

namespace Okap.Client;

/// <summary>Base of every error this client throws about the vault's answer. Messages never contain a token or poll handle.</summary>
public abstract class OkapException : Exception
{
    private protected OkapException(string message, Exception? innerException = null) : base(message, innerException) { }
}

/// <summary>
/// The vault answered and did not grant access (<c>approved: false</c>, or <c>status</c> <c>denied</c>/<c>expired</c>,
/// or the token was already handed over). <see cref="ErrorCode"/> says why: <c>access_denied</c>, <c>request_expired</c>,
/// <c>already_claimed</c> (see <see cref="Okap.Protocol.OkapErrorCodes"/>); a still-undecided request is the subclass
/// <see cref="OkapPendingException"/> (<c>pending_approval</c>).
/// </summary>
public class OkapAccessDeniedException : OkapException
{
    /// <summary>Creates the exception with the vault's message and error code.</summary>
    public OkapAccessDeniedException(string message, string? errorCode, string? requestId = null) : base(message)
    {
        ErrorCode = errorCode;
        RequestId = requestId;
    }

    /// <summary>The vault's <c>error_code</c>: <c>access_denied</c>, <c>request_expired</c>, <c>already_claimed</c>, <c>pending_approval</c>, or another value a vault may send.</summary>
    public string? ErrorCode { get; }

    /// <summary>The vault's id of the request, when known.</summary>
    public string? RequestId { get; }
}

/// <summary>
/// The person has not decided yet (<c>error_code</c> <c>pending_approval</c>). Show them <see cref="ApproveUrl"/>;
/// once they approve, sending the same request again picks up the token without asking them twice.
/// </summary>
public sealed class OkapPendingException : OkapAccessDeniedException
{
    /// <summary>Creates the exception with the vault's message and the approval link found in it.</summary>
    public OkapPendingException(string message, Uri? approveUrl, string? requestId = null)
        : base(message, Okap.Protocol.OkapErrorCodes.Pending, requestId)
    {
        ApproveUrl = approveUrl;
    }

    /// <summary>Where the person approves the request, taken from the vault's message; null when it named none.</summary>
    public Uri? ApproveUrl { get; }
}

/// <summary>
/// The vault could not be reached, answered with a non-2xx status, or sent a reply that is not valid OKAP.
/// When the vault sent the protocol's error body (<c>{"error": {"type", "message", "param"}}</c>) its fields are here.
/// </summary>
public sealed class OkapVaultException : OkapException
{
    /// <summary>Creates the exception.</summary>
    public OkapVaultException(string message, HttpStatusCode? statusCode = null, string? errorType = null, string? errorMessage = null,
        string? param = null, Exception? innerException = null) : base(message, innerException)
    {
        StatusCode = statusCode;
        ErrorType = errorType;
        ErrorMessage = errorMessage;
        Param = param;
    }

    /// <summary>The HTTP status the vault answered with; null when no answer arrived.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The error body's <c>type</c>, e.g. <c>invalid_request</c> (see <see cref="Okap.Protocol.OkapErrorTypes"/>).</summary>
    public string? ErrorType { get; }

    /// <summary>The error body's <c>message</c>.</summary>
    public string? ErrorMessage { get; }

    /// <summary>The request field the vault found at fault (the error body's <c>param</c>), e.g. <c>expires</c> or <c>authorization_details[0].provider</c>.</summary>
    public string? Param { get; }
}
