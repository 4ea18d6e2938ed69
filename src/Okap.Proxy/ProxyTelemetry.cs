using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http;
using Okap.Core.Metering;
using Okap.Core.Providers;

namespace Okap.Proxy;

/// <summary>Names of the proxy's <see cref="ActivitySource"/> and <see cref="Meter"/>, for whoever exports them.</summary>
public static class ProxyDiagnostics
{
    /// <summary>The proxy's activity source: one <c>okap.proxy</c> span per proxied call.</summary>
    public const string ActivitySourceName = "Okap.Proxy";

    /// <summary>The proxy's meter: calls, upstream latency and first byte, spend, tokens, store calls, caches, flush lag.</summary>
    public const string MeterName = "Okap.Proxy";
}

/// <summary>
/// The proxy's spans and metrics, with <c>System.Diagnostics</c> only. With no listener (nothing exported) every call
/// here returns after a field read or two and allocates nothing; with one, a call allocates one
/// <see cref="ProxyCallTelemetry"/>. Tags carry the provider, route kind, model, status and refusal reason, never a
/// token, key, query string, header or body.
/// </summary>
internal static class ProxyTelemetry
{
    public static readonly ActivitySource Source = new(ProxyDiagnostics.ActivitySourceName);
    private static readonly Meter s_meter = new(ProxyDiagnostics.MeterName);

    // Seconds, with buckets fine enough for a proxy that adds well under a millisecond.
    private static readonly InstrumentAdvice<double> s_latencyBuckets = new()
    {
        HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    };

    private static readonly Counter<long> s_calls = s_meter.CreateCounter<long>("okap.proxy.calls", "{call}",
        "Proxied calls by provider, route kind, HTTP status and refusal reason (the OKAP error type the vault answered with, if any).");
    private static readonly UpDownCounter<long> s_active = s_meter.CreateUpDownCounter<long>("okap.proxy.active_calls", "{call}",
        "Proxied calls in progress on this instance.");
    private static readonly Histogram<double> s_upstream = s_meter.CreateHistogram("okap.proxy.upstream.duration", "s",
        "Time from sending to the provider until its answer was fully passed on.", advice: s_latencyBuckets);
    private static readonly Histogram<double> s_firstByte = s_meter.CreateHistogram("okap.proxy.upstream.time_to_first_byte", "s",
        "Time from sending to the provider until its response headers arrived.", advice: s_latencyBuckets);
    private static readonly Counter<long> s_spend = s_meter.CreateCounter<long>("okap.proxy.spend", "{micro-USD}",
        "Spend settled for proxied calls, in millionths of a US dollar.");
    private static readonly Counter<long> s_tokens = s_meter.CreateCounter<long>("okap.proxy.tokens", "{token}",
        "Model tokens metered on proxied calls, by direction (input, output).");
    private static readonly Histogram<double> s_store = s_meter.CreateHistogram("okap.store.duration", "s",
        "Store calls made by the proxy and its flush, by operation and outcome.", advice: s_latencyBuckets);
    private static readonly Counter<long> s_storeFailures = s_meter.CreateCounter<long>("okap.store.failures", "{call}",
        "Store calls made by the proxy and its flush that failed or timed out, by operation.");
    private static readonly Counter<long> s_cache = s_meter.CreateCounter<long>("okap.proxy.cache.lookups", "{lookup}",
        "Proxy cache lookups by cache (token, upstream, prices) and whether they hit; the hit ratio is hits / lookups.");
    private static readonly Histogram<double> s_flushLag = s_meter.CreateHistogram("okap.usage.flush.lag", "s",
        "Time from taking a usage batch from the in-memory ledger until the store accepted it.", advice: s_latencyBuckets);

    private static readonly string[] s_routeKinds = Enum.GetNames<RouteKind>();

    /// <summary>Whether anything listens; checked first on every call so that nothing else runs when nothing is exported.</summary>
    public static bool Enabled => s_calls.Enabled || s_upstream.Enabled || Source.HasListeners();

    /// <summary>Starts the call's span and measurements, or returns null when nothing listens.</summary>
    public static ProxyCallTelemetry? Start(HttpContext context)
    {
        if (!Enabled) return null;
        var activity = Source.StartActivity("okap.proxy");
        var call = new ProxyCallTelemetry(activity);
        context.Features.Set(call);
        s_active.Add(1);
        return call;
    }

    /// <summary>Provider, route kind and model once the handler knows them.</summary>
    public static void Describe(HttpContext context, string provider, RouteKind kind, string? model)
    {
        if (!Enabled || context.Features.Get<ProxyCallTelemetry>() is not { } call) return;
        call.Provider = provider;
        call.Kind = kind;
        call.Model = model;
        if (call.Activity is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("okap.provider", provider);
            activity.SetTag("okap.route_kind", s_routeKinds[(int)kind]);
            // The model name is the client's text: bounded so a span never carries more than a model id's worth of it.
            if (model is not null) activity.SetTag("gen_ai.request.model", model.Length <= 100 ? model : model[..100]);
        }
    }

    /// <summary>The OKAP error type the vault answered with (a refusal, or an upstream failure it reports).</summary>
    public static void Refused(HttpContext context, string type)
    {
        if (!Enabled || context.Features.Get<ProxyCallTelemetry>() is not { } call) return;
        call.Refusal = type;
        call.Activity?.SetTag("okap.refusal", type);
    }

    public static void UpstreamStarted(HttpContext context)
    {
        if (Enabled && context.Features.Get<ProxyCallTelemetry>() is { } call) call.UpstreamStart = Stopwatch.GetTimestamp();
    }

    /// <summary>The provider's response headers arrived.</summary>
    public static void UpstreamFirstByte(HttpContext context)
    {
        if (!Enabled || context.Features.Get<ProxyCallTelemetry>() is not { UpstreamStart: > 0 } call) return;
        var seconds = Stopwatch.GetElapsedTime(call.UpstreamStart).TotalSeconds;
        call.Activity?.SetTag("okap.upstream.time_to_first_byte_ms", seconds * 1000);
        if (s_firstByte.Enabled) s_firstByte.Record(seconds, new KeyValuePair<string, object?>("okap.provider", MetricProvider(call.Provider)));
    }

    public static void UpstreamEnded(HttpContext context)
    {
        if (!Enabled || context.Features.Get<ProxyCallTelemetry>() is not { UpstreamStart: > 0 } call) return;
        call.UpstreamSeconds = Stopwatch.GetElapsedTime(call.UpstreamStart).TotalSeconds;
    }

    /// <summary>What the call cost once settled; the model is tagged only when it is priced (a bounded set).</summary>
    public static void Settled(HttpContext context, TokenUsage usage, long costMicros, bool priced)
    {
        if (!Enabled || context.Features.Get<ProxyCallTelemetry>() is not { } call) return;
        call.Activity?.SetTag("okap.cost_micros", costMicros);
        call.Activity?.SetTag("gen_ai.usage.input_tokens", usage.InputTokens);
        call.Activity?.SetTag("gen_ai.usage.output_tokens", usage.OutputTokens);
        var provider = MetricProvider(call.Provider);
        var model = priced ? call.Model : null;
        if (s_spend.Enabled && costMicros > 0) s_spend.Add(costMicros, new TagList { { "okap.provider", provider }, { "gen_ai.request.model", model } });
        if (s_tokens.Enabled)
        {
            s_tokens.Add(usage.InputTokens, new TagList { { "okap.provider", provider }, { "gen_ai.token.type", "input" } });
            s_tokens.Add(usage.OutputTokens, new TagList { { "okap.provider", provider }, { "gen_ai.token.type", "output" } });
        }
    }

    /// <summary>Ends the span and records the call.</summary>
    public static void Complete(ProxyCallTelemetry call, HttpContext context)
    {
        var status = context.Response.StatusCode;
        var provider = MetricProvider(call.Provider);
        var kind = call.Kind is { } k ? s_routeKinds[(int)k] : null;
        s_active.Add(-1);
        if (s_calls.Enabled)
        {
            s_calls.Add(1, new TagList
            {
                { "okap.provider", provider }, { "okap.route_kind", kind }, { "http.response.status_code", status }, { "okap.refusal", call.Refusal },
            });
        }
        if (call.UpstreamSeconds is { } upstream && s_upstream.Enabled)
            s_upstream.Record(upstream, new TagList { { "okap.provider", provider }, { "http.response.status_code", status } });
        if (call.Activity is { } activity)
        {
            activity.SetTag("http.response.status_code", status);
            if (call.UpstreamSeconds is { } seconds) activity.SetTag("okap.upstream.duration_ms", seconds * 1000);
            if (status >= 500) activity.SetStatus(ActivityStatusCode.Error, call.Refusal);
            activity.Dispose();
        }
    }

    /// <summary>Times one store call; <paramref name="failure"/> set when it failed or timed out.</summary>
    public static void StoreCall(string operation, long startTimestamp, Exception? failure)
    {
        if (!s_store.Enabled && !s_storeFailures.Enabled) return;
        var outcome = failure is null ? "ok" : "failed";
        s_store.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new TagList { { "okap.store.operation", operation }, { "okap.outcome", outcome } });
        if (failure is not null)
            s_storeFailures.Add(1, new TagList { { "okap.store.operation", operation }, { "error.type", failure.GetType().Name } });
    }

    /// <summary>Records a failed store call; false, so that it can sit in an exception filter and leave the handling to the catch clauses.</summary>
    public static bool StoreFailed(string operation, long startTimestamp, Exception failure)
    {
        StoreCall(operation, startTimestamp, failure);
        return false;
    }

    public static void CacheLookup(string cache, bool hit)
    {
        if (s_cache.Enabled) s_cache.Add(1, new TagList { { "okap.cache", cache }, { "okap.cache.hit", hit } });
    }

    public static void FlushLag(TimeSpan lag)
    {
        if (s_flushLag.Enabled) s_flushLag.Record(lag.TotalSeconds);
    }

    // Owners may name their own providers: metrics keep the built-in ids and fold the rest into one value.
    private static string MetricProvider(string? provider) =>
        provider is null ? "unknown" : ProviderCatalog.BuiltIn.ContainsKey(provider) ? provider : "custom";
}

/// <summary>One proxied call's telemetry state (an HttpContext feature while the call runs).</summary>
internal sealed class ProxyCallTelemetry(Activity? activity)
{
    public Activity? Activity { get; } = activity;
    public string? Provider { get; set; }
    public RouteKind? Kind { get; set; }
    public string? Model { get; set; }
    public string? Refusal { get; set; }
    public long UpstreamStart { get; set; }
    public double? UpstreamSeconds { get; set; }
}
