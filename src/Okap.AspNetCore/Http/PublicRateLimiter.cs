using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Okap.AspNetCore.Http;

/// <summary>
/// Per-client-address limit on the public routes (access requests, polls, sign-in). Called by the handlers
/// themselves rather than as middleware, so both hosts (Kestrel and Azure Functions) enforce it the same way.
/// </summary>
public sealed class PublicRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public PublicRateLimiter(IOptions<OkapHttpOptions> options, TimeProvider time)
    {
        var permits = options.Value.PublicRequestsPerMinute;
        _limiter = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true }));
        _ = time;
    }

    /// <summary>Null when the call may proceed, else the 429 reply.</summary>
    public IResult? TryAcquire(HttpContext context)
    {
        var address = ClientAddress.Of(context) ?? "unknown";
        using var lease = _limiter.AttemptAcquire(address);
        if (lease.IsAcquired) return null;
        var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
        return Errors.TooManyRequests(retry);
    }

    public void Dispose() => _limiter.Dispose();
}

internal static class ClientAddress
{
    // The host decides whether forwarded headers are trusted (UseForwardedHeaders); here we take what it resolved.
    public static string? Of(HttpContext context) => context.Connection.RemoteIpAddress?.ToString();
}
