using System.Net;
using Azure;
using Azure.Data.Tables;
using Okap.Core;

namespace Okap.Storage.Azure.Tables;

/// <summary>Turns "storage cannot be reached" into <see cref="VaultUnavailableException"/> (fail closed, 503).</summary>
internal static class TableGuard
{
    private const string Message = "Table Storage cannot be reached.";

    /// <summary>True for failures that mean the service is unreachable or unhealthy rather than a request error.</summary>
    public static bool IsUnavailable(Exception e, CancellationToken ct) => e switch
    {
        TableTransactionFailedException => false,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(i => IsUnavailable(i, ct)), // retries exhausted
        RequestFailedException r => r.Status == 0 || r.Status == (int)HttpStatusCode.RequestTimeout || r.Status == (int)HttpStatusCode.TooManyRequests || r.Status >= 500,
        HttpRequestException or IOException or TimeoutException => true,
        OperationCanceledException => !ct.IsCancellationRequested,
        global::Azure.Identity.AuthenticationFailedException => true,
        _ => false,
    };

    /// <summary>
    /// The exception to throw for an unreachable store. The inner exception keeps status and error code for
    /// diagnostics; it never carries a connection string (the SDK redacts keys and signatures).
    /// </summary>
    public static VaultUnavailableException Unavailable(Exception e) =>
        new(e is RequestFailedException r && r.Status != 0 ? $"{Message} (status {r.Status})" : Message, e);

    public static async Task<T> Run<T>(Func<Task<T>> action, CancellationToken ct)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e, ct))
        {
            throw Unavailable(e);
        }
    }

    public static async Task Run(Func<Task> action, CancellationToken ct)
    {
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception e) when (IsUnavailable(e, ct))
        {
            throw Unavailable(e);
        }
    }

    public static bool IsStatus(this RequestFailedException e, HttpStatusCode status) => e.Status == (int)status;
}
