using System.Buffers;
using System.Text;
using System.Text.Json;
using Okap.Core.Providers;

namespace Okap.Core.Metering;

/// <summary>
/// Reads token usage out of provider responses without building a document: JSON bodies fed in pieces as they
/// stream past (<see cref="Feed"/>), or one SSE event's data at a time (<see cref="ScanEvent"/>). Counts seen more
/// than once (stream events) keep their largest value, which is right for every provider's cumulative counts.
/// Also counts the bytes of generated text, to estimate output when a stream ends without usage.
/// </summary>
public sealed class UsageScanner
{
    private const int MaxDepth = 8;
    private const int MaxCarry = 16 * 1024 * 1024;

    private readonly ApiFormat _format;
    private readonly long[] _fields = new long[(int)Field.Count];
    private readonly Name[] _stack = new Name[MaxDepth + 1];
    private readonly bool[] _stackIsArray = new bool[MaxDepth + 1];
    private int _depth;
    private Name _pendingProperty = Name.None;
    private long _textBytes;

    // Incremental body state.
    private JsonReaderState _state = new(new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, AllowMultipleValues = true });
    private byte[]? _carry;
    private int _carryLength;
    private bool _failed;

    // Per-event facts (SSE).
    private bool _eventRootUsage;
    private int _eventChoicesCount = -1;
    private long _eventPropertyStart;
    private int _eventNullUsageStart = -1, _eventNullUsageEnd = -1;

    public UsageScanner(ApiFormat format)
    {
        _format = format;
        Array.Fill(_fields, -1);
    }

    /// <summary>True once any input or output count was seen.</summary>
    public bool HasUsage => _fields[(int)Field.Input] >= 0 || _fields[(int)Field.Output] >= 0
        || _fields[(int)Field.AltInput] >= 0 || _fields[(int)Field.AltOutput] >= 0;

    /// <summary>Bytes of generated text seen in stream deltas.</summary>
    public long TextBytes => _textBytes;

    /// <summary>Usage as reported (missing counts are zero).</summary>
    public TokenUsage GetUsage()
    {
        long F(Field f) => Math.Max(0, _fields[(int)f]);
        switch (_format)
        {
            case ApiFormat.Anthropic:
                return new TokenUsage(F(Field.Input) + F(Field.CacheWrite), F(Field.Cached), F(Field.Output));
            case ApiFormat.Gemini:
            {
                var cached = F(Field.Cached);
                return new TokenUsage(Math.Max(0, F(Field.Input) - cached), cached, F(Field.Output) + F(Field.Thoughts));
            }
            case ApiFormat.Cohere:
            {
                var input = _fields[(int)Field.Input] >= 0 ? F(Field.Input) : F(Field.AltInput);
                var output = _fields[(int)Field.Output] >= 0 ? F(Field.Output) : F(Field.AltOutput);
                return new TokenUsage(input, 0, output);
            }
            default:
            {
                var cached = F(Field.Cached);
                var input = _fields[(int)Field.Input] >= 0 ? F(Field.Input) : F(Field.AltInput);
                var output = _fields[(int)Field.Output] >= 0 ? F(Field.Output) : F(Field.AltOutput);
                return new TokenUsage(Math.Max(0, input - cached), Math.Min(cached, input), output);
            }
        }
    }

    /// <summary>
    /// Usage as reported, or estimated where the provider sent none (about four bytes a token): input from the request
    /// body, output from the generated text seen. When the response was cut short (<paramref name="completed"/> false),
    /// output is at least the estimate, since early counts (Anthropic's <c>message_start</c>) are placeholders.
    /// </summary>
    public TokenUsage GetUsageOrEstimate(long requestBodyBytes, bool completed = true)
    {
        var estimatedOutput = (_textBytes + 3) / 4;
        if (!HasUsage) return new TokenUsage((requestBodyBytes + 3) / 4, 0, estimatedOutput);
        var usage = GetUsage();
        var outputReported = _fields[(int)Field.Output] >= 0 || _fields[(int)Field.AltOutput] >= 0;
        if ((!completed || !outputReported) && usage.OutputTokens < estimatedOutput)
            usage = usage with { OutputTokens = estimatedOutput };
        var inputReported = _fields[(int)Field.Input] >= 0 || _fields[(int)Field.AltInput] >= 0;
        if (!inputReported && usage.TotalInput == 0)
            usage = usage with { InputTokens = (requestBodyBytes + 3) / 4 };
        return usage;
    }

    /// <summary>Feeds the next piece of a JSON body (or of concatenated/newline-delimited JSON documents).</summary>
    public void Feed(ReadOnlySpan<byte> chunk, bool isFinal = false)
    {
        if (_failed) return;
        try
        {
            if (_carryLength == 0)
            {
                var consumed = Scan(chunk, isFinal);
                if (consumed < chunk.Length) Carry(chunk[consumed..]);
                return;
            }
            // Prepend the unfinished token from the previous piece.
            EnsureCarry(_carryLength + chunk.Length);
            chunk.CopyTo(_carry.AsSpan(_carryLength));
            var total = _carryLength + chunk.Length;
            var used = Scan(_carry.AsSpan(0, total), isFinal);
            var left = total - used;
            if (left > 0) Buffer.BlockCopy(_carry!, used, _carry!, 0, left);
            _carryLength = left;
            if (_carryLength == 0) ReleaseCarry();
        }
        catch (JsonException)
        {
            _failed = true;
            ReleaseCarry();
        }
    }

    /// <summary>Releases pooled buffers; call when the body has ended.</summary>
    public void Complete() => ReleaseCarry();

    /// <summary>
    /// Scans one SSE event's data (a complete JSON document). Returns true when the event is an OpenAI usage-only chunk
    /// (<c>"choices": []</c> with a <c>usage</c> object), which a client that did not ask for usage must not see.
    /// </summary>
    public bool ScanEvent(ReadOnlySpan<byte> json)
    {
        _eventRootUsage = false;
        _eventChoicesCount = -1;
        _eventNullUsageStart = _eventNullUsageEnd = -1;
        _depth = 0;
        _pendingProperty = Name.None;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            Walk(ref reader);
        }
        catch (JsonException)
        {
            return false;
        }
        return _eventRootUsage && _eventChoicesCount == 0;
    }

    /// <summary>
    /// After <see cref="ScanEvent"/>: where the event's root <c>"usage": null</c> member is (from its name's opening quote
    /// to the end of <c>null</c>), the placeholder OpenAI puts on every chunk of a stream that asked for usage.
    /// </summary>
    public bool TryGetNullUsage(out int start, out int end)
    {
        start = _eventNullUsageStart;
        end = _eventNullUsageEnd;
        return start >= 0;
    }

    private int Scan(ReadOnlySpan<byte> data, bool isFinal)
    {
        var reader = new Utf8JsonReader(data, isFinal, _state);
        Walk(ref reader);
        _state = reader.CurrentState;
        return (int)reader.BytesConsumed;
    }

    private void Carry(ReadOnlySpan<byte> rest)
    {
        EnsureCarry(rest.Length);
        rest.CopyTo(_carry);
        _carryLength = rest.Length;
    }

    private void EnsureCarry(int size)
    {
        if (size > MaxCarry) throw new JsonException("token too large to scan");
        if (_carry is not null && _carry.Length >= size) return;
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(size, 4096));
        if (_carry is not null)
        {
            Buffer.BlockCopy(_carry, 0, next, 0, _carryLength);
            ArrayPool<byte>.Shared.Return(_carry);
        }
        _carry = next;
    }

    private void ReleaseCarry()
    {
        if (_carry is null) return;
        ArrayPool<byte>.Shared.Return(_carry);
        _carry = null;
        _carryLength = 0;
    }

    private void Walk(ref Utf8JsonReader reader)
    {
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    _pendingProperty = Lookup(ref reader);
                    if (_depth == 1) _eventPropertyStart = reader.TokenStartIndex;
                    break;
                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                {
                    var isArray = reader.TokenType == JsonTokenType.StartArray;
                    if (_depth == 1 && !_stackIsArray[0])
                    {
                        // Facts about the root object, for the usage-chunk filter.
                        if (_pendingProperty == Name.Usage && !isArray) _eventRootUsage = true;
                        if (_pendingProperty == Name.Choices && isArray) _eventChoicesCount = 0;
                    }
                    else if (_depth == 2 && _stackIsArray[1] && _stack[1] == Name.Choices && _eventChoicesCount >= 0)
                    {
                        _eventChoicesCount++;
                    }
                    if (_depth < MaxDepth)
                    {
                        _stack[_depth] = _pendingProperty;
                        _stackIsArray[_depth] = isArray;
                    }
                    _depth++;
                    _pendingProperty = Name.None;
                    break;
                }
                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    if (_depth > 0) _depth--;
                    _pendingProperty = Name.None;
                    break;
                case JsonTokenType.Number:
                    if (IsCountLeaf(_pendingProperty) && reader.TryGetInt64(out var n)) OnCount(_pendingProperty, n);
                    _pendingProperty = Name.None;
                    break;
                case JsonTokenType.String:
                    if (_pendingProperty is Name.Content or Name.Text or Name.Delta or Name.Response or Name.Thinking)
                        OnText(_pendingProperty, reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length);
                    _pendingProperty = Name.None;
                    break;
                case JsonTokenType.Null:
                    if (_depth == 1 && _pendingProperty == Name.Usage && !_stackIsArray[0])
                    {
                        _eventNullUsageStart = (int)_eventPropertyStart;
                        _eventNullUsageEnd = (int)reader.BytesConsumed;
                    }
                    _pendingProperty = Name.None;
                    break;
                default:
                    _pendingProperty = Name.None;
                    break;
            }
        }
    }

    /// <summary>
    /// The object path to the current value, array levels skipped (container 0 is the root; array elements have no name).
    /// False when deeper than tracked.
    /// </summary>
    private bool TryPath(Span<Name> path, out int length)
    {
        length = 0;
        if (_depth > MaxDepth) return false;
        for (var i = 1; i < _depth; i++)
        {
            var name = _stack[i];
            if (name != Name.None) path[length++] = name;
        }
        return true;
    }

    private void OnCount(Name leaf, long value)
    {
        Span<Name> path = stackalloc Name[MaxDepth + 1];
        if (!TryPath(path, out var len)) return;
        path[len++] = leaf;
        var field = Match(_format, path[..len]);
        if (field == Field.None) return;
        ref var slot = ref _fields[(int)field];
        if (value > slot) slot = value;
    }

    private void OnText(Name leaf, int bytes)
    {
        Span<Name> path = stackalloc Name[MaxDepth + 1];
        if (!TryPath(path, out var len)) return;
        path[len++] = leaf;
        if (IsTextPath(_format, path[..len])) _textBytes += bytes;
    }

    private static Field Match(ApiFormat format, ReadOnlySpan<Name> p)
    {
        // Strip wrappers that carry the same usage object: Responses API "response", Groq "x_groq",
        // Anthropic message_start "message", Cohere v2 stream "delta".
        if (p.Length > 2 && p[0] is Name.Response or Name.XGroq or Name.Message or Name.Delta) p = p[1..];
        switch (format)
        {
            case ApiFormat.Anthropic:
                if (p.Length == 2 && p[0] == Name.Usage)
                {
                    return p[1] switch
                    {
                        Name.InputTokens => Field.Input,
                        Name.OutputTokens => Field.Output,
                        Name.CacheReadInputTokens => Field.Cached,
                        Name.CacheCreationInputTokens => Field.CacheWrite,
                        _ => Field.None,
                    };
                }
                return Field.None;
            case ApiFormat.Gemini:
                if (p.Length == 2 && p[0] == Name.UsageMetadata)
                {
                    return p[1] switch
                    {
                        Name.PromptTokenCount => Field.Input,
                        Name.CandidatesTokenCount => Field.Output,
                        Name.CachedContentTokenCount => Field.Cached,
                        Name.ThoughtsTokenCount => Field.Thoughts,
                        _ => Field.None,
                    };
                }
                return Field.None;
            case ApiFormat.Cohere:
                if (p.Length == 3 && p[0] is Name.Usage or Name.Meta)
                {
                    if (p[1] == Name.BilledUnits) return p[2] switch { Name.InputTokens => Field.Input, Name.OutputTokens => Field.Output, _ => Field.None };
                    if (p[1] == Name.Tokens) return p[2] switch { Name.InputTokens => Field.AltInput, Name.OutputTokens => Field.AltOutput, _ => Field.None };
                }
                return Field.None;
            default:
                if (p.Length == 1)
                {
                    // Ollama native
                    return p[0] switch { Name.PromptEvalCount => Field.AltInput, Name.EvalCount => Field.AltOutput, _ => Field.None };
                }
                if (p.Length == 2 && p[0] == Name.Usage)
                {
                    return p[1] switch
                    {
                        Name.PromptTokens or Name.InputTokens => Field.Input,
                        Name.CompletionTokens or Name.OutputTokens => Field.Output,
                        _ => Field.None,
                    };
                }
                if (p.Length == 3 && p[0] == Name.Usage && p[1] is Name.PromptTokensDetails or Name.InputTokensDetails && p[2] == Name.CachedTokens)
                    return Field.Cached;
                return Field.None;
        }
    }

    private static bool IsTextPath(ApiFormat format, ReadOnlySpan<Name> p) => format switch
    {
        // content_block_delta: {"delta": {"text": …}} or {"delta": {"thinking": …}}
        ApiFormat.Anthropic => p.Length == 2 && p[0] == Name.Delta && p[1] is Name.Text or Name.Thinking,
        // candidates[].content.parts[].text
        ApiFormat.Gemini => p.Length == 4 && p[0] == Name.Candidates && p[1] == Name.Content && p[2] == Name.Parts && p[3] == Name.Text,
        // v2 content-delta: delta.message.content.text; v1: text
        ApiFormat.Cohere => (p.Length == 4 && p[0] == Name.Delta && p[1] == Name.Message && p[2] == Name.Content && p[3] == Name.Text)
                            || (p.Length == 1 && p[0] == Name.Text),
        // chat chunks choices[].delta.content, completions choices[].text, Responses "delta", Ollama message.content / response
        _ => (p.Length == 3 && p[0] == Name.Choices && p[1] == Name.Delta && p[2] is Name.Content)
             || (p.Length == 2 && p[0] == Name.Choices && p[1] == Name.Text)
             || (p.Length == 1 && p[0] is Name.Delta or Name.Response)
             || (p.Length == 2 && p[0] == Name.Message && p[1] == Name.Content),
    };

    private static bool IsCountLeaf(Name n) => n is Name.PromptTokens or Name.CompletionTokens or Name.InputTokens or Name.OutputTokens
        or Name.CachedTokens or Name.CacheReadInputTokens or Name.CacheCreationInputTokens or Name.PromptTokenCount
        or Name.CandidatesTokenCount or Name.CachedContentTokenCount or Name.ThoughtsTokenCount or Name.PromptEvalCount or Name.EvalCount;

    private static readonly (byte[] Utf8, Name Name)[] s_names =
    [
        (Encoding.UTF8.GetBytes("meta"), Name.Meta),
        (Encoding.UTF8.GetBytes("text"), Name.Text),
        (Encoding.UTF8.GetBytes("usage"), Name.Usage),
        (Encoding.UTF8.GetBytes("delta"), Name.Delta),
        (Encoding.UTF8.GetBytes("parts"), Name.Parts),
        (Encoding.UTF8.GetBytes("tokens"), Name.Tokens),
        (Encoding.UTF8.GetBytes("x_groq"), Name.XGroq),
        (Encoding.UTF8.GetBytes("message"), Name.Message),
        (Encoding.UTF8.GetBytes("choices"), Name.Choices),
        (Encoding.UTF8.GetBytes("content"), Name.Content),
        (Encoding.UTF8.GetBytes("response"), Name.Response),
        (Encoding.UTF8.GetBytes("thinking"), Name.Thinking),
        (Encoding.UTF8.GetBytes("candidates"), Name.Candidates),
        (Encoding.UTF8.GetBytes("eval_count"), Name.EvalCount),
        (Encoding.UTF8.GetBytes("input_tokens"), Name.InputTokens),
        (Encoding.UTF8.GetBytes("billed_units"), Name.BilledUnits),
        (Encoding.UTF8.GetBytes("prompt_tokens"), Name.PromptTokens),
        (Encoding.UTF8.GetBytes("output_tokens"), Name.OutputTokens),
        (Encoding.UTF8.GetBytes("cached_tokens"), Name.CachedTokens),
        (Encoding.UTF8.GetBytes("usageMetadata"), Name.UsageMetadata),
        (Encoding.UTF8.GetBytes("completion_tokens"), Name.CompletionTokens),
        (Encoding.UTF8.GetBytes("promptTokenCount"), Name.PromptTokenCount),
        (Encoding.UTF8.GetBytes("prompt_eval_count"), Name.PromptEvalCount),
        (Encoding.UTF8.GetBytes("thoughtsTokenCount"), Name.ThoughtsTokenCount),
        (Encoding.UTF8.GetBytes("candidatesTokenCount"), Name.CandidatesTokenCount),
        (Encoding.UTF8.GetBytes("input_tokens_details"), Name.InputTokensDetails),
        (Encoding.UTF8.GetBytes("prompt_tokens_details"), Name.PromptTokensDetails),
        (Encoding.UTF8.GetBytes("cachedContentTokenCount"), Name.CachedContentTokenCount),
        (Encoding.UTF8.GetBytes("cache_read_input_tokens"), Name.CacheReadInputTokens),
        (Encoding.UTF8.GetBytes("cache_creation_input_tokens"), Name.CacheCreationInputTokens),
    ];

    private static Name Lookup(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence) return Name.Unknown;
        var s = reader.ValueSpan;
        foreach (var (utf8, name) in s_names)
        {
            if (utf8.Length == s.Length && s.SequenceEqual(utf8)) return name;
        }
        return Name.Unknown;
    }

    private enum Field
    {
        None = -1,
        Input = 0,
        Output,
        Cached,
        CacheWrite,
        Thoughts,
        AltInput,
        AltOutput,
        Count,
    }

    private enum Name : byte
    {
        None,
        Unknown,
        Usage,
        Message,
        Response,
        XGroq,
        Meta,
        Choices,
        Delta,
        Content,
        Text,
        Thinking,
        Parts,
        Candidates,
        Tokens,
        BilledUnits,
        UsageMetadata,
        PromptTokens,
        CompletionTokens,
        InputTokens,
        OutputTokens,
        CachedTokens,
        PromptTokensDetails,
        InputTokensDetails,
        CacheReadInputTokens,
        CacheCreationInputTokens,
        PromptTokenCount,
        CandidatesTokenCount,
        CachedContentTokenCount,
        ThoughtsTokenCount,
        PromptEvalCount,
        EvalCount,
    }
}
