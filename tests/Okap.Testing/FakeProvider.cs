using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Okap.Testing;

/// <summary>What the fake provider received.</summary>
public sealed record SeenRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : null;
    public JsonNode? Json => Body.Length > 0 ? JsonNode.Parse(Body) : null;
}

/// <summary>
/// A fake AI provider on 127.0.0.1 speaking the real wire formats (OpenAI chat/embeddings JSON + SSE, Anthropic messages
/// JSON + SSE, Gemini generateContent + streamGenerateContent?alt=sse, Cohere v2 chat). Each provider lives under its own
/// path prefix (/openai/v1, /anthropic, /google, /groq/openai/v1, /cohere, …). Test controls arrive as request headers
/// the vault forwards: <c>x-fake-usage: in,out</c>, <c>x-fake-mode: error|hang|slow|redirect|nousage</c>, <c>x-fake-delay-ms</c>.
/// </summary>
public sealed class FakeProvider : IAsyncDisposable
{
    private WebApplication? _app;
    public ConcurrentQueue<SeenRequest> Seen { get; } = new();
    public int Cancelled;
    public string Url { get; private set; } = "";

    /// <summary>Credentials this provider answers 401 to, in whichever header the provider's format carries them.</summary>
    public ConcurrentDictionary<string, bool> RefusedKeys { get; } = new(StringComparer.Ordinal);

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        // The test folder holds the server's appsettings.json (Kestrel on :5080); a fake listens only where it is told.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Map("/{**path}", HandleAsync);
        await _app.StartAsync();
        Url = _app.Urls.First();
    }

    public SeenRequest? Last(Func<SeenRequest, bool>? match = null) => Seen.LastOrDefault(s => match is null || match(s));

    private async Task HandleAsync(HttpContext ctx)
    {
        var req = ctx.Request;
        string body;
        using (var reader = new StreamReader(req.Body, Encoding.UTF8)) body = await reader.ReadToEndAsync();
        var headers = req.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var seen = new SeenRequest(req.Method, req.Path.Value ?? "", req.QueryString.Value ?? "", headers, body);
        Seen.Enqueue(seen);

        var credential = req.Headers.Authorization.ToString() is { Length: > 7 } bearer && bearer.StartsWith("Bearer ", StringComparison.Ordinal) ? bearer[7..]
            : req.Headers["x-api-key"].ToString() is { Length: > 0 } xApiKey ? xApiKey
            : req.Headers["x-goog-api-key"].ToString() is { Length: > 0 } googKey ? googKey
            : req.Headers["api-key"].ToString();
        if (RefusedKeys.ContainsKey(credential))
        {
            await WriteJsonAsync(ctx, """{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}""", 401);
            return;
        }

        var mode = req.Headers["x-fake-mode"].ToString();
        var delay = int.TryParse(req.Headers["x-fake-delay-ms"], out var d) ? d : 0;
        var (pin, pout) = ParseUsage(req.Headers["x-fake-usage"].ToString());
        var path = seen.Path;
        var json = body.Length > 0 && body.TrimStart().StartsWith('{') ? JsonNode.Parse(body) : null;
        var model = json?["model"]?.GetValue<string>() ?? "fake-model";
        var ct = ctx.RequestAborted;

        if (mode == "slow") await Task.Delay(5000, ct).ContinueWith(_ => { });
        if (mode == "redirect")
        {
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = "http://127.0.0.1:9/elsewhere";
            return;
        }
        if (mode == "hostile")
        {
            // What an upstream that wants to run as the vault's page would answer.
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "text/html; charset=utf-8";
            var h = ctx.Response.Headers;
            h["Set-Cookie"] = "okap_session=stolen; Path=/";
            h["Refresh"] = "0; url=https://evil.example/";
            h["Clear-Site-Data"] = "\"cookies\"";
            h["Access-Control-Allow-Origin"] = "*";
            h["Access-Control-Allow-Credentials"] = "true";
            h["Content-Security-Policy"] = "script-src 'unsafe-inline'";
            h["Link"] = "<https://evil.example/x.js>; rel=preload; as=script";
            h["Service-Worker-Allowed"] = "/";
            h["Content-Location"] = "/";
            await ctx.Response.WriteAsync("<!doctype html><script>document.title='pwned'</script>", ct);
            return;
        }
        if (mode == "error")
        {
            ctx.Response.StatusCode = 400;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("""{"error":{"message":"upstream says no","type":"invalid_request_error","code":"bad_thing"}}""");
            return;
        }
        ctx.Response.Headers["Set-Cookie"] = "__cf_bm=abc; Path=/";

        try
        {
            if (path.EndsWith("/chat/completions", StringComparison.Ordinal))
                await OpenAIChatAsync(ctx, json, model, pin, pout, mode, delay, ct);
            else if (path.EndsWith("/embeddings", StringComparison.Ordinal))
                await WriteJsonAsync(ctx, $$$$"""{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3]}],"model":"{{{{model}}}}","usage":{"prompt_tokens":{{{{pin}}}},"total_tokens":{{{{pin}}}}}}""");
            else if (path.EndsWith("/models", StringComparison.Ordinal) && req.Method == "GET")
                await WriteJsonAsync(ctx, """{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1700000000,"owned_by":"system"}]}""");
            else if (path.EndsWith("/v1/messages", StringComparison.Ordinal))
                await AnthropicAsync(ctx, json, model, pin, pout, mode, delay, ct);
            else if (path.Contains(":streamGenerateContent", StringComparison.Ordinal))
                await GeminiStreamAsync(ctx, pin, pout, mode, delay, ct);
            else if (path.Contains(":generateContent", StringComparison.Ordinal))
                await WriteJsonAsync(ctx, $$$$"""{"candidates":[{"content":{"parts":[{"text":"Hello from fake"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":{{{{pin}}}},"candidatesTokenCount":{{{{pout}}}},"totalTokenCount":{{{{pin + pout}}}}},"modelVersion":"gemini-2.0-flash"}""");
            else if (path.EndsWith("/v2/chat", StringComparison.Ordinal))
                await WriteJsonAsync(ctx, $$$$"""{"id":"c1","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"Hello from fake"}]},"usage":{"billed_units":{"input_tokens":{{{{pin}}}},"output_tokens":{{{{pout}}}}},"tokens":{"input_tokens":{{{{pin + 7}}}},"output_tokens":{{{{pout}}}}}}}""");
            else
            {
                ctx.Response.StatusCode = 404;
                await WriteJsonAsync(ctx, """{"error":{"message":"fake: no such route","type":"invalid_request_error"}}""", 404);
            }
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref Cancelled);
        }
        catch (IOException)
        {
            Interlocked.Increment(ref Cancelled);
        }
    }

    private static (long, long) ParseUsage(string s)
    {
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        return parts.Length == 2 && long.TryParse(parts[0], out var a) && long.TryParse(parts[1], out var b) ? (a, b) : (12, 5);
    }

    private static Task WriteJsonAsync(HttpContext ctx, string json, int status = 200)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(json);
    }

    private static async Task SseAsync(HttpContext ctx, string data, CancellationToken ct, string? eventName = null, string newline = "\n")
    {
        var text = (eventName is null ? "" : "event: " + eventName + newline) + "data: " + data + newline + newline;
        await ctx.Response.WriteAsync(text, ct);
        await ctx.Response.Body.FlushAsync(ct);
    }

    private static void StartSse(HttpContext ctx)
    {
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-cache";
    }

    private static readonly string[] s_words = ["Hello", " from", " fake"];

    private static async Task OpenAIChatAsync(HttpContext ctx, JsonNode? json, string model, long pin, long pout, string mode, int delay, CancellationToken ct)
    {
        var stream = json?["stream"]?.GetValue<bool>() == true;
        var usage = $$$$"""{"prompt_tokens":{{{{pin}}}},"completion_tokens":{{{{pout}}}},"total_tokens":{{{{pin + pout}}}},"prompt_tokens_details":{"cached_tokens":0}}""";
        if (!stream)
        {
            var u = mode == "nousage" ? "" : $$$$""","usage":{{{{usage}}}}""";
            await WriteJsonAsync(ctx, $$$$"""{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"{{{{model}}}}","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from fake","refusal":null},"logprobs":null,"finish_reason":"stop"}]{{{{u}}}}}""");
            return;
        }
        var includeUsage = json?["stream_options"]?["include_usage"]?.GetValue<bool>() == true;
        var usageNull = includeUsage ? ""","usage":null""" : "";
        StartSse(ctx);
        string Chunk(string delta, string? finish) =>
            $$$$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"{{{{model}}}}","choices":[{"index":0,"delta":{{{{delta}}}},"logprobs":null,"finish_reason":{{{{(finish is null ? "null" : "\"" + finish + "\"")}}}}}]{{{{usageNull}}}}}""";
        await SseAsync(ctx, Chunk("""{"role":"assistant","content":""}""", null), ct);
        var i = 0;
        do
        {
            foreach (var w in s_words)
            {
                if (delay > 0) await Task.Delay(delay, ct);
                await SseAsync(ctx, Chunk(JsonSerializer.Serialize(new { content = w }), null), ct);
            }
            i++;
        } while (mode == "hang" && i < 2000);
        await SseAsync(ctx, Chunk("{}", "stop"), ct);
        if (includeUsage && mode != "nousage")
            await SseAsync(ctx, $$$$"""{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"{{{{model}}}}","choices":[],"usage":{{{{usage}}}}}""", ct);
        await SseAsync(ctx, "[DONE]", ct);
    }

    private static async Task AnthropicAsync(HttpContext ctx, JsonNode? json, string model, long pin, long pout, string mode, int delay, CancellationToken ct)
    {
        var stream = json?["stream"]?.GetValue<bool>() == true;
        if (!stream)
        {
            await WriteJsonAsync(ctx, $$$$"""{"id":"msg_1","type":"message","role":"assistant","model":"{{{{model}}}}","content":[{"type":"text","text":"Hello from fake"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":{{{{pin}}}},"output_tokens":{{{{pout}}}},"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}""");
            return;
        }
        StartSse(ctx);
        await SseAsync(ctx, $$$$"""{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"{{{{model}}}}","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":{{{{pin}}}},"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}""", ct, "message_start");
        await SseAsync(ctx, """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""", ct, "content_block_start");
        var i = 0;
        do
        {
            foreach (var w in s_words)
            {
                if (delay > 0) await Task.Delay(delay, ct);
                await SseAsync(ctx, $$$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":{{{{JsonSerializer.Serialize(w)}}}}}}""", ct, "content_block_delta");
            }
            i++;
        } while (mode == "hang" && i < 2000);
        await SseAsync(ctx, """{"type":"content_block_stop","index":0}""", ct, "content_block_stop");
        await SseAsync(ctx, $$$$"""{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":{{{{pout}}}}}}""", ct, "message_delta");
        await SseAsync(ctx, """{"type":"message_stop"}""", ct, "message_stop");
    }

    private static async Task GeminiStreamAsync(HttpContext ctx, long pin, long pout, string mode, int delay, CancellationToken ct)
    {
        StartSse(ctx);
        var n = 0;
        foreach (var w in s_words)
        {
            if (delay > 0) await Task.Delay(delay, ct);
            n++;
            var outSoFar = n == s_words.Length ? pout : n;
            await SseAsync(ctx, $$$$"""{"candidates":[{"content":{"parts":[{"text":{{{{JsonSerializer.Serialize(w)}}}}}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":{{{{pin}}}},"candidatesTokenCount":{{{{outSoFar}}}},"totalTokenCount":{{{{pin + outSoFar}}}}},"modelVersion":"gemini-2.0-flash"}""", ct, newline: "\r\n");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
