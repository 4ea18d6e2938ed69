using System.Buffers;
using Okap.Core.Providers;

namespace Okap.Core.Metering;

/// <summary>
/// Follows a server-sent-event stream as it passes, handing each event's data to a <see cref="UsageScanner"/>.
/// In pass-through mode the caller forwards bytes itself, untouched and at once. In filter mode
/// (<see cref="DropUsageOnlyChunks"/>) the meter holds bytes only until the end of the current event, then hands back
/// every event except OpenAI usage-only chunks the client did not ask for.
/// </summary>
public sealed class SseMeter : IDisposable
{
    private static ReadOnlySpan<byte> DataPrefix => "data:"u8;
    private static ReadOnlySpan<byte> Done => "[DONE]"u8;

    private readonly UsageScanner _scanner;
    private byte[] _line = ArrayPool<byte>.Shared.Rent(1024);
    private int _lineLength;
    private byte[] _data = ArrayPool<byte>.Shared.Rent(4096);
    private int _dataLength;
    private bool _hasData;
    private byte[]? _event;
    private int _eventLength;

    public SseMeter(ApiFormat format, bool dropUsageOnlyChunks)
    {
        _scanner = new UsageScanner(format);
        DropUsageOnlyChunks = dropUsageOnlyChunks;
        if (dropUsageOnlyChunks) _event = ArrayPool<byte>.Shared.Rent(4096);
    }

    /// <summary>True when usage-only chunks are removed (the vault asked for usage on the client's behalf).</summary>
    public bool DropUsageOnlyChunks { get; }

    public UsageScanner Scanner => _scanner;

    /// <summary>Number of complete events seen.</summary>
    public int Events { get; private set; }

    /// <summary>
    /// Reads the next piece of the stream. In filter mode, the bytes to forward are appended to <paramref name="forward"/>
    /// (whole events only); in pass-through mode <paramref name="forward"/> is ignored.
    /// </summary>
    public void Process(ReadOnlySpan<byte> chunk, IBufferWriter<byte>? forward)
    {
        while (!chunk.IsEmpty)
        {
            var nl = chunk.IndexOf((byte)'\n');
            var part = nl < 0 ? chunk : chunk[..(nl + 1)];
            if (_event is not null) AppendEvent(part);
            if (nl < 0)
            {
                AppendLine(part);
                return;
            }
            ReadOnlySpan<byte> line;
            if (_lineLength == 0)
            {
                line = chunk[..nl];
            }
            else
            {
                AppendLine(chunk[..nl]);
                line = _line.AsSpan(0, _lineLength);
            }
            if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
            var endOfEvent = OnLine(line);
            _lineLength = 0;
            if (endOfEvent) EndEvent(forward);
            chunk = chunk[(nl + 1)..];
        }
    }

    /// <summary>The stream ended: a last event without its blank line still counts, and held bytes are released.</summary>
    public void Complete(IBufferWriter<byte>? forward)
    {
        if (_lineLength > 0)
        {
            var line = _line.AsSpan(0, _lineLength);
            if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
            OnLine(line);
            _lineLength = 0;
        }
        if (_hasData || _eventLength > 0) EndEvent(forward);
    }

    /// <summary>Returns true at the blank line that ends an event.</summary>
    private bool OnLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty) return true;
        if (line.StartsWith(DataPrefix))
        {
            var value = line[DataPrefix.Length..];
            if (!value.IsEmpty && value[0] == (byte)' ') value = value[1..];
            if (_hasData) AppendData("\n"u8);
            AppendData(value);
            _hasData = true;
        }
        return false;
    }

    private void EndEvent(IBufferWriter<byte>? forward)
    {
        var drop = false;
        int cutStart = -1, cutEnd = -1;
        if (_hasData)
        {
            Events++;
            var data = _data.AsSpan(0, _dataLength);
            if (!data.SequenceEqual(Done) && data.Length > 0 && data[0] == (byte)'{')
            {
                var usageOnly = _scanner.ScanEvent(data);
                drop = usageOnly && DropUsageOnlyChunks;
                if (!drop && DropUsageOnlyChunks && _scanner.TryGetNullUsage(out var start, out var end))
                    (cutStart, cutEnd) = NullUsageInEvent(data, start, end);
            }
        }
        if (_event is not null)
        {
            if (!drop && _eventLength > 0 && forward is not null)
            {
                var ev = _event.AsSpan(0, _eventLength);
                if (cutStart < 0)
                {
                    forward.Write(ev);
                }
                else
                {
                    // The client did not ask for usage: the "usage": null the vault's include_usage added goes too.
                    forward.Write(ev[..cutStart]);
                    forward.Write(ev[cutEnd..]);
                }
            }
            _eventLength = 0;
        }
        _dataLength = 0;
        _hasData = false;
    }

    /// <summary>
    /// The bytes of the event to leave out for the data's <c>"usage": null</c> member at [start, end), with the comma that
    /// joins it to a neighbour; (-1, -1) when the data is not one line of the event (then it is forwarded unchanged).
    /// </summary>
    private (int Start, int End) NullUsageInEvent(ReadOnlySpan<byte> data, int start, int end)
    {
        var at = _event.AsSpan(0, _eventLength).IndexOf(data);
        if (at < 0) return (-1, -1);
        var before = start - 1;
        while (before >= 0 && IsJsonSpace(data[before])) before--;
        if (before >= 0 && data[before] == (byte)',') return (at + before, at + end);
        var after = end;
        while (after < data.Length && IsJsonSpace(data[after])) after++;
        if (after < data.Length && data[after] == (byte)',') return (at + start, at + after + 1);
        return (at + start, at + end);
    }

    private static bool IsJsonSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private void AppendLine(ReadOnlySpan<byte> bytes) => Append(ref _line, ref _lineLength, bytes);
    private void AppendData(ReadOnlySpan<byte> bytes) => Append(ref _data, ref _dataLength, bytes);
    private void AppendEvent(ReadOnlySpan<byte> bytes) => Append(ref _event!, ref _eventLength, bytes);

    private static void Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> bytes)
    {
        if (length + bytes.Length > buffer.Length)
        {
            var next = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, length + bytes.Length));
            Buffer.BlockCopy(buffer, 0, next, 0, length);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = next;
        }
        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        ArrayPool<byte>.Shared.Return(_line);
        ArrayPool<byte>.Shared.Return(_data);
        if (_event is not null) ArrayPool<byte>.Shared.Return(_event);
        _line = _data = [];
        _event = null;
        _scanner.Complete();
    }
}
