using System.Net;
using Microsoft.Extensions.Logging;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>Answers a call the token's grant does not allow: logged, audited (token.refused) and written as an error body.</summary>
internal sealed class RefusalWriter(ProxyAuditQueue audit, ILogger<ProxyHandler> logger)
{
    public Task RefuseAsync(ProxyCall call, int status, string type, string message, TimeSpan? retryAfter = null)
    {
        Log.Refused(logger, call.Token.Id, call.Provider, type);
        audit.Refused(call.Token, call.Provider, type, call.Http.Connection.RemoteIpAddress);
        return ProxyErrors.WriteAsync(call.Http, status, type, message, call.Provider, retryAfter);
    }

    /// <summary>An error that is no refusal of the token (bad path, unreadable body): not audited.</summary>
    public static Task ErrorAsync(ProxyCall call, int status, string type, string message) =>
        ProxyErrors.WriteAsync(call.Http, status, type, message, call.Provider);

    public static Task PayloadTooLargeAsync(ProxyCall call) =>
        ErrorAsync(call, (int)HttpStatusCode.RequestEntityTooLarge, OkapErrorTypes.PayloadTooLarge, "The request body is larger than the vault reads to check its limits.");
}
