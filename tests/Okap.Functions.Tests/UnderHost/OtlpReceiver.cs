using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>One exported span as the collector received it: its resource's attributes, scope name, trace id (hex), name and attributes.</summary>
public sealed record OtlpSpan(IReadOnlyDictionary<string, object?> Resource, string Scope, string TraceId, string Name, IReadOnlyDictionary<string, object?> Attributes);

/// <summary>One exported metric point (any kind) with its resource, scope, metric name and attributes.</summary>
public sealed record OtlpPoint(IReadOnlyDictionary<string, object?> Resource, string Scope, string Metric, IReadOnlyDictionary<string, object?> Attributes);

/// <summary>One exported log record: its resource, scope (the logger's category) and body.</summary>
public sealed record OtlpLog(IReadOnlyDictionary<string, object?> Resource, string Scope, string? Body);

/// <summary>
/// A small OTLP/HTTP collector on 127.0.0.1 (Kestrel): accepts <c>POST /v1/traces</c>, <c>/v1/metrics</c> and
/// <c>/v1/logs</c> with protobuf bodies, as the OpenTelemetry .NET exporters send them with
/// <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>, keeps every body as received and answers 200. The
/// <c>OpenTelemetry.Proto</c> types are not on the package feed: <see cref="Otlp"/> decodes the few fields read here
/// by their numbers in the OTLP .proto files (unknown fields are skipped, as protobuf readers do).
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, byte[] Body)> _received = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>Base address, <c>http://127.0.0.1:{port}</c>, for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public string Url { get; private set; } = "";

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        foreach (var signal in new[] { "traces", "metrics", "logs" }) app.MapPost("/v1/" + signal, (HttpContext context) => receiver.ReceiveAsync(context, signal));
        await app.StartAsync();
        receiver.Url = app.Urls.First();
        return receiver;
    }

    private async Task ReceiveAsync(HttpContext context, string signal)
    {
        Stream body = context.Request.Body;
        if (string.Equals(context.Request.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase)) body = new GZipStream(body, CompressionMode.Decompress);
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy);
        _received.Enqueue(("/v1/" + signal, copy.ToArray()));
        // An empty Export*ServiceResponse: everything accepted.
        context.Response.ContentType = "application/x-protobuf";
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>Every request body received so far, in arrival order, with its path.</summary>
    public IReadOnlyList<(string Path, byte[] Body)> Received => [.. _received];

    public IReadOnlyList<OtlpSpan> Spans() => [.. Received.Where(r => r.Path == "/v1/traces").SelectMany(r => Otlp.Spans(r.Body))];

    public IReadOnlyList<OtlpPoint> Points() => [.. Received.Where(r => r.Path == "/v1/metrics").SelectMany(r => Otlp.Points(r.Body))];

    public IReadOnlyList<OtlpLog> Logs() => [.. Received.Where(r => r.Path == "/v1/logs").SelectMany(r => Otlp.Logs(r.Body))];

    /// <summary>Waits until <paramref name="found"/> holds for what was received, or fails with what did arrive.</summary>
    public async Task WaitForAsync(Func<OtlpReceiver, bool> found, TimeSpan timeout, Func<string> describe)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!found(this))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The collector did not receive what was expected within {timeout}: {describe()}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// The fields of OTLP's protobuf messages (opentelemetry-proto, <c>collector/*/v1</c>, <c>trace/v1</c>,
/// <c>metrics/v1</c>, <c>logs/v1</c>, <c>common/v1</c>) that the tests read, by field number.
/// </summary>
public static class Otlp
{
    /// <summary><c>ExportTraceServiceRequest.resource_spans</c> → <c>ResourceSpans{resource=1, scope_spans=2}</c> → <c>ScopeSpans{scope=1, spans=2}</c> → <c>Span{trace_id=1, name=5, attributes=9}</c>.</summary>
    public static IEnumerable<OtlpSpan> Spans(ReadOnlyMemory<byte> request)
    {
        foreach (var resourceSpans in Protobuf.Messages(request, 1))
        {
            var resource = Resource(resourceSpans);
            foreach (var scopeSpans in Protobuf.Messages(resourceSpans, 2))
            {
                var scope = ScopeName(scopeSpans);
                foreach (var span in Protobuf.Messages(scopeSpans, 2))
                {
                    var traceId = Convert.ToHexStringLower(Protobuf.Messages(span, 1).FirstOrDefault().Span);
                    yield return new OtlpSpan(resource, scope, traceId, Protobuf.String(span, 5) ?? "", Attributes(span, 9));
                }
            }
        }
    }

    /// <summary>
    /// <c>ExportMetricsServiceRequest.resource_metrics</c> → <c>ResourceMetrics{resource=1, scope_metrics=2}</c> →
    /// <c>ScopeMetrics{scope=1, metrics=2}</c> → <c>Metric{name=1, gauge=5, sum=7, histogram=9, exponential_histogram=10,
    /// summary=11}</c>, each with <c>data_points=1</c> whose attributes are field 7 (number and summary points), 9
    /// (histogram) or 1 (exponential histogram).
    /// </summary>
    public static IEnumerable<OtlpPoint> Points(ReadOnlyMemory<byte> request)
    {
        foreach (var resourceMetrics in Protobuf.Messages(request, 1))
        {
            var resource = Resource(resourceMetrics);
            foreach (var scopeMetrics in Protobuf.Messages(resourceMetrics, 2))
            {
                var scope = ScopeName(scopeMetrics);
                foreach (var metric in Protobuf.Messages(scopeMetrics, 2))
                {
                    var name = Protobuf.String(metric, 1) ?? "";
                    foreach (var (kind, attributes) in new[] { (5, 7), (7, 7), (9, 9), (10, 1), (11, 7) })
                    {
                        foreach (var data in Protobuf.Messages(metric, kind))
                            foreach (var point in Protobuf.Messages(data, 1))
                                yield return new OtlpPoint(resource, scope, name, Attributes(point, attributes));
                    }
                }
            }
        }
    }

    /// <summary><c>ExportLogsServiceRequest.resource_logs</c> → <c>ResourceLogs{resource=1, scope_logs=2}</c> → <c>ScopeLogs{scope=1, log_records=2}</c> → <c>LogRecord{body=5}</c>.</summary>
    public static IEnumerable<OtlpLog> Logs(ReadOnlyMemory<byte> request)
    {
        foreach (var resourceLogs in Protobuf.Messages(request, 1))
        {
            var resource = Resource(resourceLogs);
            foreach (var scopeLogs in Protobuf.Messages(resourceLogs, 2))
            {
                var scope = ScopeName(scopeLogs);
                foreach (var record in Protobuf.Messages(scopeLogs, 2))
                    yield return new OtlpLog(resource, scope, Protobuf.Messages(record, 5).Select(v => AnyValue(v)?.ToString()).FirstOrDefault());
            }
        }
    }

    // Resource{attributes=1}
    private static Dictionary<string, object?> Resource(ReadOnlyMemory<byte> parent) =>
        Protobuf.Messages(parent, 1).Select(r => Attributes(r, 1)).FirstOrDefault() ?? [];

    // InstrumentationScope{name=1}
    private static string ScopeName(ReadOnlyMemory<byte> parent) =>
        Protobuf.Messages(parent, 1).Select(s => Protobuf.String(s, 1)).FirstOrDefault() ?? "";

    // repeated KeyValue{key=1, value=2}
    private static Dictionary<string, object?> Attributes(ReadOnlyMemory<byte> message, int field)
    {
        var attributes = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var pair in Protobuf.Messages(message, field))
            attributes[Protobuf.String(pair, 1) ?? ""] = Protobuf.Messages(pair, 2).Select(AnyValue).FirstOrDefault();
        return attributes;
    }

    // AnyValue{string_value=1, bool_value=2, int_value=3, double_value=4, array_value=5, kvlist_value=6, bytes_value=7}
    private static object? AnyValue(ReadOnlyMemory<byte> value)
    {
        foreach (var field in Protobuf.Fields(value))
        {
            switch (field.Number)
            {
                case 1: return System.Text.Encoding.UTF8.GetString(field.Bytes.Span);
                case 2: return field.Value != 0;
                case 3: return (long)field.Value;
                case 4: return BitConverter.Int64BitsToDouble((long)field.Value);
                case 5: return Protobuf.Messages(field.Bytes, 1).Select(AnyValue).ToArray();
                case 6: return Attributes(field.Bytes, 1);
                case 7: return field.Bytes.ToArray();
            }
        }
        return null;
    }
}

/// <summary>The protobuf wire format, read without a schema: varint, 64-bit, length-delimited and 32-bit fields.</summary>
public static class Protobuf
{
    public readonly record struct Field(int Number, int WireType, ulong Value, ReadOnlyMemory<byte> Bytes);

    public static IEnumerable<Field> Fields(ReadOnlyMemory<byte> message)
    {
        var at = 0;
        while (at < message.Length)
        {
            var key = Varint(message.Span, ref at);
            var number = (int)(key >> 3);
            var wireType = (int)(key & 7);
            switch (wireType)
            {
                case 0:
                    yield return new Field(number, wireType, Varint(message.Span, ref at), default);
                    break;
                case 1:
                    yield return new Field(number, wireType, BitConverter.ToUInt64(message.Span.Slice(at, 8)), default);
                    at += 8;
                    break;
                case 2:
                    var length = (int)Varint(message.Span, ref at);
                    yield return new Field(number, wireType, 0, message.Slice(at, length));
                    at += length;
                    break;
                case 5:
                    yield return new Field(number, wireType, BitConverter.ToUInt32(message.Span.Slice(at, 4)), default);
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"protobuf wire type {wireType} (field {number}) at byte {at}");
            }
        }
    }

    /// <summary>The embedded messages (or strings, bytes) in field <paramref name="number"/>.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Messages(ReadOnlyMemory<byte> message, int number) =>
        Fields(message).Where(f => f.Number == number && f.WireType == 2).Select(f => f.Bytes);

    public static string? String(ReadOnlyMemory<byte> message, int number) =>
        Messages(message, number).Select(b => System.Text.Encoding.UTF8.GetString(b.Span)).FirstOrDefault();

    private static ulong Varint(ReadOnlySpan<byte> data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new InvalidDataException("protobuf varint longer than 10 bytes");
    }
}
