using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Okap.AspNetCore.Health;

/// <summary>Readiness reply: overall status and each check's status, never an error text.</summary>
public sealed record ReadinessView(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("checks")] IReadOnlyDictionary<string, string> Checks);

/// <summary>
/// <c>GET /okap/ready</c>: 200 <c>ready</c> when the store and the secret store both answer, else 503 <c>not_ready</c>
/// with which one did not (healthy / unhealthy only: exception texts and store addresses stay in the logs). The result
/// is reused for <see cref="OkapHttpOptions.ReadinessCacheTtl"/>, so edge probes from many locations cost at most one
/// store and one Key Vault read per instance per period. Liveness (<c>/okap/health</c>) touches nothing.
/// </summary>
public sealed class ReadinessHandler(HealthCheckService health, TimeProvider time, IOptions<OkapHttpOptions> options)
{
    /// <summary>Tag of the health checks that make up readiness.</summary>
    public const string Tag = "ready";

    private readonly TimeSpan _ttl = options.Value.ReadinessCacheTtl;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (ReadinessView View, DateTimeOffset Until)? _cached;

    public async Task<IResult> ReadyAsync(HttpContext context)
    {
        var view = await CurrentAsync(context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Json(view, ReadinessJsonContext.Default.ReadinessView,
            statusCode: view.Status == "ready" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private async Task<ReadinessView> CurrentAsync(CancellationToken ct)
    {
        if (_cached is { } c && time.GetUtcNow() < c.Until) return c.View;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_cached is { } again && time.GetUtcNow() < again.Until) return again.View;
            var report = await health.CheckHealthAsync(r => r.Tags.Contains(Tag), ct).ConfigureAwait(false);
            var checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Status == HealthStatus.Healthy ? "healthy" : "unhealthy", StringComparer.Ordinal);
            var view = new ReadinessView(report.Status == HealthStatus.Healthy ? "ready" : "not_ready", checks);
            _cached = (view, time.GetUtcNow() + _ttl);
            return view;
        }
        finally
        {
            _gate.Release();
        }
    }
}

[JsonSerializable(typeof(ReadinessView))]
internal sealed partial class ReadinessJsonContext : JsonSerializerContext;
