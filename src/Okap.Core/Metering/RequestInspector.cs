using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Okap.Core.Providers;

namespace Okap.Core.Metering;

/// <summary>What the vault needs from a JSON request body.</summary>
public sealed record RequestFacts
{
    public string? Model { get; init; }
    /// <summary>The body asked for a stream (<c>"stream": true</c>).</summary>
    public bool Stream { get; init; }
    /// <summary><c>stream_options.include_usage</c> as sent; null when absent.</summary>
    public bool? IncludeUsage { get; init; }
    /// <summary>True when the body has a <c>stream_options</c> member at all.</summary>
    public bool HasStreamOptions { get; init; }
    /// <summary>The largest output-token ceiling the body asks for, from any of the provider's fields.</summary>
    public long? MaxOutputTokens { get; init; }
    /// <summary>False when the body is not a JSON object.</summary>
    public bool IsJsonObject { get; init; } = true;
    /// <summary>How many outputs the body asks for (OpenAI <c>n</c>, Gemini <c>candidateCount</c>); each can use the full ceiling.</summary>
    public int Choices { get; init; } = 1;
    /// <summary>
    /// Why the body cannot be checked (a ceiling or count that is not a whole number in range, a model that is not
    /// valid text), fit to answer 400 with; null when it can.
    /// </summary>
    public string? Problem { get; init; }
}

/// <summary>Reads and rewrites the few request fields that limits and metering depend on.</summary>
public static class RequestInspector
{
    /// <summary>Scans the top level of a JSON body (and the nested fields that matter) without building a document.</summary>
    public static RequestFacts Inspect(ReadOnlySpan<byte> body)
    {
        string? model = null;
        var stream = false;
        bool? includeUsage = null;
        var hasStreamOptions = false;
        long? maxOut = null;
        long choices = 1;
        string? problem = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return new RequestFacts { IsJsonObject = false };
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        // Invalid UTF-8 or a lone surrogate (\ud800) cannot become a string: the caller's mistake, not ours.
                        try { model = reader.GetString(); }
                        catch (InvalidOperationException) { problem ??= "model is not valid text (invalid UTF-8 or a lone surrogate)."; }
                    }
                    else reader.Skip();
                }
                else if (reader.ValueTextEquals("stream"u8))
                {
                    reader.Read();
                    stream = reader.TokenType == JsonTokenType.True;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("max_tokens"u8) || reader.ValueTextEquals("max_completion_tokens"u8) || reader.ValueTextEquals("max_output_tokens"u8)
                         || reader.ValueTextEquals("max_tokens_to_sample"u8))
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    ReadCeiling(ref reader, name, ref maxOut, ref problem);
                }
                else if (reader.ValueTextEquals("n"u8))
                {
                    reader.Read();
                    ReadCount(ref reader, "n", ref choices, ref problem);
                }
                else if (reader.ValueTextEquals("stream_options"u8))
                {
                    hasStreamOptions = true;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var isIncludeUsage = reader.ValueTextEquals("include_usage"u8);
                            reader.Read();
                            if (isIncludeUsage && reader.TokenType is JsonTokenType.True or JsonTokenType.False) includeUsage = reader.TokenType == JsonTokenType.True;
                            reader.Skip();
                        }
                    }
                    else reader.Skip();
                }
                else if (reader.ValueTextEquals("generationConfig"u8) || reader.ValueTextEquals("generation_config"u8) || reader.ValueTextEquals("options"u8))
                {
                    // Gemini generationConfig (its JSON mapping takes camelCase and snake_case names alike), Ollama options.num_predict.
                    var parent = reader.GetString()!;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var isMax = reader.ValueTextEquals("maxOutputTokens"u8) || reader.ValueTextEquals("max_output_tokens"u8) || reader.ValueTextEquals("num_predict"u8);
                            var isCount = parent != "options" && (reader.ValueTextEquals("candidateCount"u8) || reader.ValueTextEquals("candidate_count"u8));
                            var name = isMax || isCount ? parent + "." + reader.GetString() : null;
                            reader.Read();
                            if (isMax) ReadCeiling(ref reader, name!, ref maxOut, ref problem);
                            else if (isCount) ReadCount(ref reader, name!, ref choices, ref problem);
                            else reader.Skip();
                        }
                    }
                    else reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return new RequestFacts { IsJsonObject = false };
        }
        return new RequestFacts
        {
            Model = model, Stream = stream, IncludeUsage = includeUsage, HasStreamOptions = hasStreamOptions, MaxOutputTokens = maxOut,
            Choices = (int)Math.Clamp(choices, 1, int.MaxValue), Problem = problem,
        };
    }

    private static void ReadCeiling(ref Utf8JsonReader reader, string name, ref long? maxOut, ref string? problem)
    {
        if (ReadWhole(ref reader, name, ref problem) is { } v) maxOut = Max(maxOut, v <= 0 ? long.MaxValue : v);
    }

    private static void ReadCount(ref Utf8JsonReader reader, string name, ref long count, ref string? problem)
    {
        if (ReadWhole(ref reader, name, ref problem) is { } v && v > count) count = v;
    }

    /// <summary>
    /// A whole number in any spelling a provider's JSON parser takes as one (<c>128</c>, <c>128.0</c>, <c>1.28e2</c>);
    /// null when absent (<c>null</c>). Anything else (a fraction, a number past 64 bits, a string, which some parsers
    /// would read and others refuse) is a problem: the vault cannot know what the provider will do with it.
    /// </summary>
    private static long? ReadWhole(ref Utf8JsonReader reader, string name, ref string? problem)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (reader.TryGetInt64(out var v)) return v;
            if (TryParseWhole(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan, out v)) return v;
        }
        reader.Skip();
        problem ??= $"{name} must be a whole number between {long.MinValue} and {long.MaxValue}.";
        return null;
    }

    /// <summary>Parses a JSON number's text as a whole number within 64 bits, whatever its spelling; false for fractions and overflow.</summary>
    internal static bool TryParseWhole(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || d != decimal.Truncate(d) || d > long.MaxValue || d < long.MinValue)
            return false;
        value = (long)d;
        return true;
    }

    private static long Max(long? a, long b) => a is null || b > a ? b : a.Value;

    /// <summary>The body field that carries the output ceiling for a route, used when the vault must set one.</summary>
    public static string? MaxOutputField(RouteKind kind, string provider) => kind switch
    {
        RouteKind.ChatCompletions => provider == "openai" ? "max_completion_tokens" : "max_tokens",
        RouteKind.Responses => "max_output_tokens",
        RouteKind.Completions or RouteKind.AnthropicMessages or RouteKind.CohereChat => "max_tokens",
        RouteKind.AnthropicComplete => "max_tokens_to_sample",
        RouteKind.GeminiGenerate => "generationConfig.maxOutputTokens",
        RouteKind.OllamaChat or RouteKind.OllamaGenerate => "options.num_predict",
        _ => null,
    };

    /// <summary>
    /// Rewrites a JSON body: sets the output ceiling (every field the body used, or <paramref name="maxOutputField"/>
    /// when it had none) and/or turns on <c>stream_options.include_usage</c>. Returns the new body.
    /// </summary>
    public static byte[] Rewrite(ReadOnlySpan<byte> body, long? capOutputTokens, string? maxOutputField, bool includeUsage)
    {
        // Fast path: add stream_options right after the opening brace when the body has none.
        if (capOutputTokens is null && includeUsage)
        {
            var facts = Inspect(body);
            if (!facts.HasStreamOptions)
            {
                var brace = body.IndexOf((byte)'{');
                ReadOnlySpan<byte> insert = "\"stream_options\":{\"include_usage\":true},"u8;
                var rest = body[(brace + 1)..];
                var restTrim = rest.TrimStart(" \t\r\n"u8);
                var emptyObject = !restTrim.IsEmpty && restTrim[0] == (byte)'}';
                if (emptyObject) insert = insert[..^1];
                var result = new byte[body.Length + insert.Length];
                body[..(brace + 1)].CopyTo(result);
                insert.CopyTo(result.AsSpan(brace + 1));
                rest.CopyTo(result.AsSpan(brace + 1 + insert.Length));
                return result;
            }
        }
        var root = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object");
        if (capOutputTokens is { } cap)
        {
            var set = false;
            foreach (var field in (ReadOnlySpan<string>)["max_tokens", "max_completion_tokens", "max_output_tokens", "max_tokens_to_sample"])
            {
                set |= CapField(root, field, cap);
            }
            foreach (var (parent, child) in (ReadOnlySpan<(string, string)>)[("generationConfig", "maxOutputTokens"), ("generationConfig", "max_output_tokens"),
                         ("generation_config", "maxOutputTokens"), ("generation_config", "max_output_tokens"), ("options", "num_predict")])
            {
                if (root[parent] is JsonObject o) set |= CapField(o, child, cap);
            }
            // A Gemini body that spells its config generation_config gets the ceiling there, not in a second object.
            if (maxOutputField == "generationConfig.maxOutputTokens" && root["generation_config"] is JsonObject && root["generationConfig"] is null)
                maxOutputField = "generation_config.max_output_tokens";
            if (!set && maxOutputField is not null)
            {
                var dot = maxOutputField.IndexOf('.');
                if (dot < 0)
                {
                    root[maxOutputField] = cap;
                }
                else
                {
                    var parent = maxOutputField[..dot];
                    if (root[parent] is not JsonObject o)
                    {
                        o = new JsonObject();
                        root[parent] = o;
                    }
                    o[maxOutputField[(dot + 1)..]] = cap;
                }
            }
        }
        if (includeUsage)
        {
            if (root["stream_options"] is not JsonObject so)
            {
                so = new JsonObject();
                root["stream_options"] = so;
            }
            so["include_usage"] = true;
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    // Inspect has already refused anything but whole numbers, in whatever spelling (1e5, 128.0).
    private static bool CapField(JsonObject o, string field, long cap)
    {
        if (o[field] is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return false;
        if (TryParseWhole(Encoding.UTF8.GetBytes(v.ToJsonString()), out var current) && (current > cap || current <= 0)) o[field] = cap;
        return true;
    }
}
