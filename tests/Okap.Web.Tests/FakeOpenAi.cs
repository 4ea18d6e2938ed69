using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Okap.Web.Tests;

/// <summary>A fake OpenAI-format provider on 127.0.0.1: <c>POST /v1/chat/completions</c> answers with a <c>usage</c> block.</summary>
public sealed class FakeOpenAi : IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>The <c>Authorization</c> header of every call it received.</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    /// <summary>Base URL the OpenAI SDK would use, ending in <c>/v1</c>.</summary>
    public string BaseUrl { get; private set; } = "";

    public static async Task<FakeOpenAi> StartAsync()
    {
        var fake = new FakeOpenAi();
        var builder = WebApplication.CreateSlimBuilder();
        // The test folder holds the server's appsettings.json (Kestrel on :5080); a fake listens only where it is told.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        fake._app = builder.Build();
        fake._app.MapPost("/v1/chat/completions", (HttpContext context) =>
        {
            fake.Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
            return Results.Json(new
            {
                id = "chatcmpl-fake",
                @object = "chat.completion",
                created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                model = "gpt-4o-mini",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = "Hello from the fake provider." }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 1200, completion_tokens = 300, total_tokens = 1500 },
            });
        });
        await fake._app.StartAsync();
        fake.BaseUrl = fake._app.Urls.First() + "/v1";
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
