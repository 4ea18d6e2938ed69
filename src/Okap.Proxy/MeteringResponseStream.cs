using System.Buffers;
using Okap.Core.Metering;
using Okap.Core.Providers;

namespace Okap.Proxy;

/// <summary>
/// Wraps the client response body. Bytes go to the client as they arrive (a stream is never buffered); on the way,
/// a <see cref="UsageScanner"/> reads usage from JSON bodies and an <see cref="SseMeter"/> from event streams. When the
/// vault asked for stream usage on the client's behalf, each event is held until it is complete so the usage-only
/// chunk can be left out.
/// </summary>
internal sealed class MeteringResponseStream : Stream
{
    private readonly Stream _inner;
    private readonly ApiFormat _format;
    private Mode _mode = Mode.None;
    private UsageScanner? _json;
    private SseMeter? _sse;
    private ArrayBufferWriter<byte>? _filtered;
    private bool _completed;

    public MeteringResponseStream(Stream inner, ApiFormat format)
    {
        _inner = inner;
        _format = format;
    }

    private enum Mode { None, Json, Sse, SseFilter }

    /// <summary>Chooses how to read the response, from its status and content type (called once headers are known).</summary>
    public void Start(int status, string? contentType, bool dropUsageChunks)
    {
        if (status is < 200 or > 299 || contentType is null) return;
        if (contentType.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            _sse = new SseMeter(_format, dropUsageChunks);
            _mode = dropUsageChunks ? Mode.SseFilter : Mode.Sse;
            if (dropUsageChunks) _filtered = new ArrayBufferWriter<byte>(4096);
        }
        else if (contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            _json = new UsageScanner(_format);
            _mode = Mode.Json;
        }
    }

    public bool Started => _mode != Mode.None;

    /// <summary>The scanner holding what was read, or null when the response was not metered.</summary>
    public UsageScanner? Scanner => _sse?.Scanner ?? _json;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        switch (_mode)
        {
            case Mode.SseFilter:
                _sse!.Process(buffer.Span, _filtered);
                if (_filtered!.WrittenCount > 0)
                {
                    var pending = _filtered.WrittenMemory;
                    try
                    {
                        await _inner.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        _filtered.ResetWrittenCount();
                    }
                }
                return;
            case Mode.Sse:
                await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                _sse!.Process(buffer.Span, null);
                return;
            case Mode.Json:
                await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                _json!.Feed(buffer.Span);
                return;
            default:
                await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The upstream body ended (or was cut): read what is left and forward any held bytes.</summary>
    public async ValueTask CompleteAsync(bool forwardHeld, CancellationToken ct)
    {
        if (_completed) return;
        _completed = true;
        if (_sse is not null)
        {
            _sse.Complete(_filtered);
            if (forwardHeld && _filtered is { WrittenCount: > 0 })
            {
                try
                {
                    await _inner.WriteAsync(_filtered.WrittenMemory, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
                {
                    // client gone
                }
            }
        }
        _json?.Feed([], isFinal: true);
    }

    public void Release()
    {
        _sse?.Dispose();
        _json?.Complete();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);
    public override void Flush() => _inner.Flush();
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
