using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using Okap.Core.Metering;
using Okap.Core.Providers;

namespace Okap.Proxy.Tests.Unit;

public sealed class UsageScannerTests
{
    private static TokenUsage ScanBody(ApiFormat format, string json, int chunk = int.MaxValue)
    {
        var scanner = new UsageScanner(format);
        var bytes = Encoding.UTF8.GetBytes(json);
        for (var i = 0; i < bytes.Length; i += chunk) scanner.Feed(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)));
        scanner.Feed([], isFinal: true);
        Assert.True(scanner.HasUsage);
        return scanner.GetUsage();
    }

    private const string OpenAIJson = """{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi","usage":{"prompt_tokens":999}}}],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":100}}}""";

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(int.MaxValue)]
    public void OpenAI_json_in_any_chunking(int chunk) =>
        Assert.Equal(new TokenUsage(20, 100, 30), ScanBody(ApiFormat.OpenAI, OpenAIJson, chunk));

    [Fact]
    public void OpenAI_responses_api() =>
        Assert.Equal(new TokenUsage(8, 2, 40), ScanBody(ApiFormat.OpenAI, """{"object":"response","output":[],"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":2},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":12}}}"""));

    [Fact]
    public void Anthropic_json_with_cache_reads_and_writes() =>
        Assert.Equal(new TokenUsage(10 + 5, 50, 7), ScanBody(ApiFormat.Anthropic, """{"type":"message","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":50,"output_tokens":7}}"""));

    [Fact]
    public void Gemini_json_with_thoughts_and_cache() =>
        Assert.Equal(new TokenUsage(80, 20, 35), ScanBody(ApiFormat.Gemini, """{"candidates":[{"content":{"parts":[{"text":"hi"}]}}],"usageMetadata":{"promptTokenCount":100,"cachedContentTokenCount":20,"candidatesTokenCount":30,"thoughtsTokenCount":5,"totalTokenCount":135}}"""));

    [Fact]
    public void Gemini_json_array_stream_takes_the_final_counts() =>
        Assert.Equal(new TokenUsage(9, 0, 12), ScanBody(ApiFormat.Gemini, """[{"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":3}},{"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":12}}]""", 5));

    [Fact]
    public void Cohere_billed_units_preferred() =>
        Assert.Equal(new TokenUsage(30, 0, 20), ScanBody(ApiFormat.Cohere, """{"message":{},"usage":{"billed_units":{"input_tokens":30,"output_tokens":20},"tokens":{"input_tokens":37,"output_tokens":20}}}"""));

    [Fact]
    public void Cohere_embed_meta() =>
        Assert.Equal(new TokenUsage(11, 0, 0), ScanBody(ApiFormat.Cohere, """{"embeddings":{"float":[[0.1]]},"meta":{"billed_units":{"input_tokens":11}}}"""));

    [Fact]
    public void Ollama_native_ndjson() =>
        Assert.Equal(new TokenUsage(26, 0, 298), ScanBody(ApiFormat.OpenAI, "{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"done\":true,\"prompt_eval_count\":26,\"eval_count\":298}\n", 7));

    [Fact]
    public void No_usage_estimates_from_body_and_text()
    {
        var s = new UsageScanner(ApiFormat.OpenAI);
        Assert.False(s.HasUsage);
        s.ScanEvent("""{"choices":[{"delta":{"content":"abcdefgh"}}]}"""u8);
        Assert.Equal(new TokenUsage(25, 0, 2), s.GetUsageOrEstimate(100));
    }

    [Fact]
    public void Escaped_or_garbage_json_does_not_throw()
    {
        var s = new UsageScanner(ApiFormat.OpenAI);
        s.Feed("{\"usage\":{\"prompt_tokens\": 1, bad"u8, isFinal: true);
        s.Feed("more garbage"u8);
        Assert.True(s.ScanEvent("not json"u8) is false);
    }
}

public sealed class SseMeterTests
{
    private static string Event(string data, string? name = null) => (name is null ? "" : $"event: {name}\n") + $"data: {data}\n\n";

    private static readonly string OpenAIStream =
        Event("""{"choices":[{"index":0,"delta":{"content":"Hel"}}],"usage":null}""") +
        Event("""{"choices":[{"index":0,"delta":{"content":"lo"}}],"usage":null}""") +
        Event("""{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}""") +
        Event("[DONE]");

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100000)]
    public void Filter_mode_drops_only_the_usage_chunk(int chunk)
    {
        using var meter = new SseMeter(ApiFormat.OpenAI, dropUsageOnlyChunks: true);
        var output = new ArrayBufferWriter<byte>();
        var bytes = Encoding.UTF8.GetBytes(OpenAIStream);
        for (var i = 0; i < bytes.Length; i += chunk) meter.Process(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)), output);
        meter.Complete(output);
        var text = Encoding.UTF8.GetString(output.WrittenSpan);
        // The usage chunk and the "usage": null placeholders the vault's include_usage added are gone; all else is byte for byte.
        Assert.Equal(OpenAIStream.Replace(Event("""{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}"""), "").Replace(""","usage":null""", ""), text);
        Assert.Equal(new TokenUsage(9, 0, 2), meter.Scanner.GetUsage());
        Assert.Equal(4, meter.Events);
    }

    [Theory]
    [InlineData("""{"id":"c","choices":[{"delta":{"content":"Hi"}}],"usage":null}""", """{"id":"c","choices":[{"delta":{"content":"Hi"}}]}""")]
    [InlineData("""{"usage":null,"id":"c","choices":[]}""", """{"id":"c","choices":[]}""")]
    [InlineData("""{ "id": "c", "usage" : null , "choices": [] }""", """{ "id": "c" , "choices": [] }""")]
    [InlineData("""{"usage":null}""", """{}""")]
    // Only the root member: a nested "usage": null and text that looks like one stay.
    [InlineData("""{"choices":[{"delta":{"content":"\"usage\":null","usage":null}}]}""", """{"choices":[{"delta":{"content":"\"usage\":null","usage":null}}]}""")]
    public void Filter_mode_removes_the_root_usage_null_member(string data, string expected)
    {
        using var meter = new SseMeter(ApiFormat.OpenAI, dropUsageOnlyChunks: true);
        var output = new ArrayBufferWriter<byte>();
        meter.Process(Encoding.UTF8.GetBytes(Event(data, "chunk")), output);
        Assert.Equal(Event(expected, "chunk"), Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Pass_through_and_multi_line_data_keep_usage_null()
    {
        using var meter = new SseMeter(ApiFormat.OpenAI, dropUsageOnlyChunks: true);
        var output = new ArrayBufferWriter<byte>();
        const string split = "data: {\"choices\":[],\n" + "data: \"usage\":null}\n\n";
        meter.Process(Encoding.UTF8.GetBytes(split), output);
        Assert.Equal(split, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Pass_through_mode_reads_usage_and_writes_nothing()
    {
        using var meter = new SseMeter(ApiFormat.OpenAI, dropUsageOnlyChunks: false);
        var output = new ArrayBufferWriter<byte>();
        meter.Process(Encoding.UTF8.GetBytes(OpenAIStream), output);
        Assert.Equal(0, output.WrittenCount);
        Assert.Equal(new TokenUsage(9, 0, 2), meter.Scanner.GetUsage());
    }

    [Fact]
    public void Anthropic_events_and_crlf()
    {
        var stream = (Event("""{"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1,"cache_read_input_tokens":5}}}""", "message_start")
                     + Event("""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello there"}}""", "content_block_delta")
                     + Event("""{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}""", "message_delta")).Replace("\n", "\r\n");
        using var meter = new SseMeter(ApiFormat.Anthropic, false);
        meter.Process(Encoding.UTF8.GetBytes(stream), null);
        Assert.Equal(new TokenUsage(25, 5, 15), meter.Scanner.GetUsage());
        Assert.Equal(11, meter.Scanner.TextBytes);
    }

    [Fact]
    public void Cut_stream_bills_known_input_and_estimated_output()
    {
        using var meter = new SseMeter(ApiFormat.Anthropic, false);
        meter.Process(Encoding.UTF8.GetBytes(Event("""{"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}""")
            + Event("""{"type":"content_block_delta","delta":{"type":"text_delta","text":"0123456789abcdef"}}""")), null);
        Assert.Equal(new TokenUsage(25, 0, 4), meter.Scanner.GetUsageOrEstimate(1000, completed: false));
        Assert.Equal(new TokenUsage(25, 0, 1), meter.Scanner.GetUsageOrEstimate(1000, completed: true));
    }

    [Fact]
    public void Gemini_sse_and_responses_api_events()
    {
        using var gemini = new SseMeter(ApiFormat.Gemini, false);
        gemini.Process(Encoding.UTF8.GetBytes(Event("""{"candidates":[{"content":{"parts":[{"text":"Hi"}]}}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":1}}""")
            + Event("""{"candidates":[{"content":{"parts":[{"text":"!"}]}}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":6}}""")), null);
        Assert.Equal(new TokenUsage(4, 0, 6), gemini.Scanner.GetUsage());
        Assert.Equal(3, gemini.Scanner.TextBytes);

        using var responses = new SseMeter(ApiFormat.OpenAI, false);
        responses.Process(Encoding.UTF8.GetBytes(Event("""{"type":"response.output_text.delta","delta":"Hi"}""", "response.output_text.delta")
            + Event("""{"type":"response.completed","response":{"usage":{"input_tokens":11,"output_tokens":3}}}""", "response.completed")), null);
        Assert.Equal(new TokenUsage(11, 0, 3), responses.Scanner.GetUsage());
    }
}

public sealed class RequestInspectorTests
{
    [Fact]
    public void Reads_model_stream_and_ceilings()
    {
        var f = RequestInspector.Inspect("""{"messages":[{"model":"nested"}],"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false},"max_tokens":10,"max_completion_tokens":20}"""u8);
        Assert.Equal(("gpt-4o", true, (bool?)false, true, (long?)20), (f.Model, f.Stream, f.IncludeUsage, f.HasStreamOptions, f.MaxOutputTokens));
        var g = RequestInspector.Inspect("""{"contents":[],"generationConfig":{"temperature":1,"maxOutputTokens":77}}"""u8);
        Assert.Equal(77, g.MaxOutputTokens);
        Assert.False(RequestInspector.Inspect("[1,2]"u8).IsJsonObject);
        Assert.False(RequestInspector.Inspect("{bad"u8).IsJsonObject);
    }

    [Fact]
    public void Counts_outputs_and_treats_non_positive_ceilings_as_unbounded()
    {
        Assert.Equal(4, RequestInspector.Inspect("""{"model":"gpt-4o","n":4,"max_tokens":10}"""u8).Choices);
        Assert.Equal(3, RequestInspector.Inspect("""{"generationConfig":{"candidateCount":3,"maxOutputTokens":5}}"""u8).Choices);
        Assert.Equal(1, RequestInspector.Inspect("""{"model":"gpt-4o"}"""u8).Choices);
        Assert.Equal(long.MaxValue, RequestInspector.Inspect("""{"model":"llama3","options":{"num_predict":-1}}"""u8).MaxOutputTokens);
        Assert.Equal(long.MaxValue, RequestInspector.Inspect("""{"model":"gpt-4o","max_tokens":0}"""u8).MaxOutputTokens);
    }

    [Fact]
    public void Adds_include_usage_without_reparsing()
    {
        var body = RequestInspector.Rewrite("""{"model":"m","stream":true}"""u8, null, null, includeUsage: true);
        Assert.Equal("""{"stream_options":{"include_usage":true},"model":"m","stream":true}""", Encoding.UTF8.GetString(body));
        Assert.Equal("""{"stream_options":{"include_usage":true} }""", Encoding.UTF8.GetString(RequestInspector.Rewrite("{ }"u8, null, null, true)));
    }

    [Fact]
    public void Turns_on_existing_stream_options_and_caps_ceilings()
    {
        var body = JsonNode.Parse(RequestInspector.Rewrite("""{"model":"m","stream_options":{"include_usage":false},"max_tokens":500}"""u8, 100, "max_tokens", true))!;
        Assert.True((bool)body["stream_options"]!["include_usage"]!);
        Assert.Equal(100, (int)body["max_tokens"]!);
        var gemini = JsonNode.Parse(RequestInspector.Rewrite("""{"contents":[]}"""u8, 64, "generationConfig.maxOutputTokens", false))!;
        Assert.Equal(64, (int)gemini["generationConfig"]!["maxOutputTokens"]!);
        var kept = JsonNode.Parse(RequestInspector.Rewrite("""{"max_completion_tokens":50}"""u8, 100, "max_tokens", false))!;
        Assert.Equal(50, (int)kept["max_completion_tokens"]!);
        Assert.Null(kept["max_tokens"]);
    }

    [Theory]
    [InlineData(RouteKind.ChatCompletions, "openai", "max_completion_tokens")]
    [InlineData(RouteKind.ChatCompletions, "groq", "max_tokens")]
    [InlineData(RouteKind.Responses, "openai", "max_output_tokens")]
    [InlineData(RouteKind.AnthropicMessages, "anthropic", "max_tokens")]
    [InlineData(RouteKind.GeminiGenerate, "google", "generationConfig.maxOutputTokens")]
    [InlineData(RouteKind.Embeddings, "openai", null)]
    public void Ceiling_field_per_route(RouteKind kind, string provider, string? field) => Assert.Equal(field, RequestInspector.MaxOutputField(kind, provider));
}
