using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Okap.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Okap.Server.Tests;

/// <summary>
/// The server with telemetry on and an in-memory exporter, over real HTTP (Kestrel on loopback) and a fake provider:
/// what reaches an exporter describes each call and never carries a token, key, prompt or query string.
/// </summary>
public sealed class TelemetryTests : IAsyncLifetime
{
    private const string MasterKey = "sk-telemetry-master-key-0001";
    private const string Prompt = "my very private prompt text 7731";
    private const string Password = "correct horse battery";

    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private readonly FakeProvider _fake = new();
    private readonly VaultFactory _vault;

    public TelemetryTests()
    {
        _vault = new VaultFactory
        {
            TestServices = services => services
                .ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans))
                .ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(_metrics)),
        };
    }

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        _vault.Settings["Okap:Telemetry:Enabled"] = "true";
        _vault.UseLoopbackKestrel();
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        await _fake.DisposeAsync();
    }

    [Fact]
    public async Task Proxied_okap_and_admin_calls_are_traced_and_measured_without_any_secret()
    {
        var owner = await _vault.SignUpAsync("alice");
        Assert.Equal("http", owner.BaseAddress!.Scheme);
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = MasterKey })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk(limits: new { monthly_spend = 10.0 }))).JsonAsync();
        var token = granted["token"]!["token"]!.GetValue<string>();

        // The calls below run in one trace of the test's own, which the client propagates (traceparent) to the vault.
        using var root = new Activity("telemetry-test").SetIdFormat(ActivityIdFormat.W3C).Start();
        var traceId = root.TraceId;
        var client = _vault.ClientFor();
        async Task<HttpResponseMessage> ChatAsync(string model, string query = "", bool bearer = true)
        {
            using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions" + query)
            {
                Content = new StringContent($$"""{"model":"{{model}}","messages":[{"role":"user","content":"{{Prompt}}"}]}""", Encoding.UTF8, "application/json"),
            };
            if (bearer) call.Headers.Authorization = new("Bearer", token);
            call.Headers.Add("x-fake-usage", "1000,500");
            return await client.SendAsync(call);
        }

        Assert.Equal(HttpStatusCode.OK, (await ChatAsync("gpt-4o-mini")).StatusCode);
        // A Gemini-style client puts the token in ?key=: it must not reach a span either.
        Assert.Equal(HttpStatusCode.OK, (await ChatAsync("gpt-4o-mini", $"?key={token}&trace=1", bearer: false)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await ChatAsync("gpt-4-turbo-not-granted")).StatusCode);
        root.Stop();

        Assert.True(_vault.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
        Assert.True(_vault.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000));

        Activity[] spans;
        lock (_spans) spans = [.. _spans];
        var proxySpans = spans.Where(s => s.Source.Name == "Okap.Proxy" && s.TraceId == traceId).ToArray();
        Assert.Equal(3, proxySpans.Length);
        var ok = proxySpans.Where(s => Equals(s.GetTagItem("http.response.status_code"), 200)).ToArray();
        Assert.Equal(2, ok.Length);
        foreach (var span in ok)
        {
            Assert.Equal("okap.proxy", span.DisplayName);
            Assert.Equal("openai", span.GetTagItem("okap.provider"));
            Assert.Equal("ChatCompletions", span.GetTagItem("okap.route_kind"));
            Assert.Equal("gpt-4o-mini", span.GetTagItem("gen_ai.request.model"));
            Assert.True((double)span.GetTagItem("okap.upstream.duration_ms")! > 0);
            Assert.True((double)span.GetTagItem("okap.upstream.time_to_first_byte_ms")! > 0);
            Assert.Equal(1000L, span.GetTagItem("gen_ai.usage.input_tokens"));
            Assert.True((long)span.GetTagItem("okap.cost_micros")! > 0);
            Assert.Null(span.GetTagItem("okap.refusal"));
        }
        var refused = Assert.Single(proxySpans, s => Equals(s.GetTagItem("http.response.status_code"), 403));
        Assert.Equal("model_not_allowed", refused.GetTagItem("okap.refusal"));
        Assert.Null(refused.GetTagItem("okap.upstream.duration_ms"));

        // ASP.NET Core server spans: the proxy's parents (in the client's trace), the OKAP request and the admin calls.
        var server = spans.Where(s => s.Source.Name == "Microsoft.AspNetCore").ToArray();
        Assert.Equal(3, server.Count(s => s.TraceId == traceId && (string?)s.GetTagItem("http.route") == "/v1/{provider}/{**path}"));
        Assert.All(proxySpans, p => Assert.Contains(server, s => s.SpanId == p.ParentSpanId));
        Assert.Contains(server, s => (string?)s.GetTagItem("http.route") == "/okap/request");
        // Not even redacted ("?key=Redacted"): the query is dropped.
        Assert.All(spans, s => Assert.Null(s.GetTagItem("url.query")));
        Assert.Contains(server, s => (string?)s.GetTagItem("http.route") == "/okap/admin/keys/{provider}");
        // The upstream calls, with the path but no query (the second call's "trace=1" went to the provider, not to a span).
        var clients = spans.Where(s => s.Kind == ActivityKind.Client && s.TraceId == traceId).ToArray();
        Assert.Equal(2, clients.Count(s => ((string)s.GetTagItem("url.full")!).StartsWith(_fake.Url, StringComparison.Ordinal)));
        Assert.All(clients, s => Assert.DoesNotContain('?', (string)s.GetTagItem("url.full")!));
        // Table Storage calls name their table, not the entity (a token's row key is its hash).
        Assert.All(spans.Where(s => s.Kind == ActivityKind.Client), s => Assert.DoesNotContain('(', (string)s.GetTagItem("url.full")!));
        Assert.Contains("?trace=1", _fake.Seen.Select(r => r.Query));

        // Metrics.
        var points = Points();
        Assert.Contains(points, p => p.Metric == "okap.proxy.calls" && p.Tags["okap.provider"] as string == "openai"
            && Equals(p.Tags["http.response.status_code"], 200) && p.Tags["okap.route_kind"] as string == "ChatCompletions" && p.Sum >= 2);
        Assert.Contains(points, p => p.Metric == "okap.proxy.calls" && p.Tags["okap.refusal"] as string == "model_not_allowed" && Equals(p.Tags["http.response.status_code"], 403));
        Assert.Contains(points, p => p.Metric == "okap.proxy.upstream.duration" && p.Count >= 2);
        Assert.Contains(points, p => p.Metric == "okap.proxy.upstream.time_to_first_byte" && p.Count >= 2);
        Assert.Contains(points, p => p.Metric == "okap.proxy.spend" && p.Tags["gen_ai.request.model"] as string == "gpt-4o-mini" && p.Sum > 0);
        Assert.Contains(points, p => p.Metric == "okap.proxy.tokens" && p.Tags["gen_ai.token.type"] as string == "input" && p.Sum >= 2000);
        Assert.Contains(points, p => p.Metric == "okap.proxy.cache.lookups" && p.Tags["okap.cache"] as string == "token" && Equals(p.Tags["okap.cache.hit"], true));
        Assert.Contains(points, p => p.Metric == "okap.store.duration" && p.Tags["okap.store.operation"] as string == "token.find" && p.Count >= 1);
        Assert.Contains(points, p => p.Metric == "okap.proxy.active_calls");
        Assert.Contains(points, p => p.Metric == "http.server.request.duration");

        // Nothing secret anywhere: names, tags, status texts, events, links, baggage and every metric point's tags.
        var secrets = new[] { token, token[..20], Okap.Core.Secrets.Hash(token), MasterKey, Prompt, "trace=1", Password };
        foreach (var span in spans)
        {
            var text = new StringBuilder(span.DisplayName).Append(' ').Append(span.OperationName).Append(' ').Append(span.StatusDescription).Append(' ').Append(span.TraceStateString);
            foreach (var tag in span.TagObjects) text.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
            foreach (var e in span.Events) { text.Append(' ').Append(e.Name); foreach (var t in e.Tags) text.Append(' ').Append(t.Key).Append('=').Append(t.Value); }
            foreach (var b in span.Baggage) text.Append(' ').Append(b.Key).Append('=').Append(b.Value);
            foreach (var secret in secrets) Assert.DoesNotContain(secret, text.ToString(), StringComparison.Ordinal);
        }
        foreach (var point in points)
        {
            var text = point.Metric + " " + string.Join(' ', point.Tags.Select(t => t.Key + "=" + t.Value));
            foreach (var secret in secrets) Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    private sealed record Point(string Metric, IReadOnlyDictionary<string, object?> Tags, double Sum, long Count);

    private List<Point> Points()
    {
        var result = new List<Point>();
        lock (_metrics)
        {
            foreach (var metric in _metrics)
            {
                foreach (ref readonly var point in metric.GetMetricPoints())
                {
                    var tags = new Dictionary<string, object?>(StringComparer.Ordinal);
                    foreach (var tag in point.Tags) tags[tag.Key] = tag.Value;
                    var (sum, count) = metric.MetricType switch
                    {
                        MetricType.Histogram => (point.GetHistogramSum(), point.GetHistogramCount()),
                        MetricType.LongSum or MetricType.LongSumNonMonotonic => (point.GetSumLong(), 1L),
                        MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => (point.GetSumDouble(), 1L),
                        MetricType.LongGauge => (point.GetGaugeLastValueLong(), 1L),
                        MetricType.DoubleGauge => (point.GetGaugeLastValueDouble(), 1L),
                        _ => (0d, 0L),
                    };
                    result.Add(new Point(metric.Name, new DefaultingDictionary(tags), sum, count));
                }
            }
        }
        return result;
    }

    /// <summary>Missing tags read as null, so that assertions can name any tag.</summary>
    private sealed class DefaultingDictionary(Dictionary<string, object?> inner) : IReadOnlyDictionary<string, object?>
    {
        public object? this[string key] => inner.GetValueOrDefault(key);
        public IEnumerable<string> Keys => inner.Keys;
        public IEnumerable<object?> Values => inner.Values;
        public int Count => inner.Count;
        public bool ContainsKey(string key) => inner.ContainsKey(key);
        public bool TryGetValue(string key, out object? value) => inner.TryGetValue(key, out value);
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => inner.GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => inner.GetEnumerator();
    }
}
