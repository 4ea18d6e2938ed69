using Microsoft.Extensions.Logging;

namespace Okap.Proxy;

// Never log a token, a key, a request or response body, or a query string.
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Vault storage unavailable while proxying to {Provider}: {Reason}")]
    public static partial void StoreUnavailable(ILogger logger, string provider, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Upstream call to {Provider} failed: {Error} ({ExceptionType})")]
    public static partial void UpstreamFailed(ILogger logger, string provider, string error, string? exceptionType);

    [LoggerMessage(3, LogLevel.Debug, "Refused call of token {TokenId} to {Provider}: {Reason}")]
    public static partial void Refused(ILogger logger, string? tokenId, string provider, string reason);

    [LoggerMessage(4, LogLevel.Warning, "Usage flush failed; {Count} counters kept for the next flush ({ExceptionType})")]
    public static partial void FlushFailed(ILogger logger, int count, string exceptionType);

    [LoggerMessage(5, LogLevel.Debug, "Flushed {Count} usage counters and {Touched} token last-use times")]
    public static partial void Flushed(ILogger logger, int count, int touched);

    [LoggerMessage(6, LogLevel.Warning, "Token last-use or audit write failed ({ExceptionType})")]
    public static partial void SideWriteFailed(ILogger logger, string exceptionType);

    [LoggerMessage(7, LogLevel.Error, "Unexpected proxy failure for {Provider} ({ExceptionType})")]
    public static partial void Unexpected(ILogger logger, string provider, string exceptionType, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "Owner upstream URL for {Provider} refused: {Reason}")]
    public static partial void UpstreamRefused(ILogger logger, string provider, string reason);

    [LoggerMessage(9, LogLevel.Information, "Swept {Count} usage writer marks last written before {Before:O}")]
    public static partial void MarksSwept(ILogger logger, int count, DateTimeOffset before);

    [LoggerMessage(10, LogLevel.Warning, "Usage writer mark sweep failed; tried again next period ({ExceptionType})")]
    public static partial void SweepFailed(ILogger logger, string exceptionType);

    [LoggerMessage(11, LogLevel.Information, "Usage writer and budget lease holder {HolderId} started")]
    public static partial void HolderStarted(ILogger logger, string holderId);

    [LoggerMessage(12, LogLevel.Debug, "Wrote usage batch {Seq} of writer {WriterId}: {Requests} calls, {CostMicros} micro-USD")]
    public static partial void BatchWritten(ILogger logger, long seq, string writerId, long requests, long costMicros);

    [LoggerMessage(20, LogLevel.Warning, "Storage unreachable at shutdown: {Count} usage counters kept in the local spool for the next start")]
    public static partial void Spooled(ILogger logger, int count);

    [LoggerMessage(21, LogLevel.Error, "Usage spool failed; {Count} usage counters could not be kept ({ExceptionType})")]
    public static partial void SpoolFailed(ILogger logger, int count, string exceptionType);
}
