using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Okap.Testing;

namespace Okap.Client.Tests;

/// <summary>The vault's one test host (<see cref="VaultFactory"/>, in memory on SQLite), with helpers for an app's side.</summary>
public sealed class ClientVault : VaultFactory
{
    /// <summary>Every request an <see cref="OkapClient"/> made through <see cref="NewClient"/>'s HTTP client.</summary>
    public ConcurrentQueue<RecordedCall> Calls { get; } = new();

    /// <summary>An OKAP client whose HttpClient goes to this in-memory vault (and records what it sends).</summary>
    public OkapClient NewClient(string vaultUrl = "http://localhost", string? appName = "Client Test App", TimeProvider? time = null) =>
        new(CreateDefaultClient(new Recorder(Calls)), new OkapClientOptions
        {
            VaultUrl = new Uri(vaultUrl),
            AppName = appName,
            AppUrl = new Uri("https://app.example.com"),
            Callback = new Uri("https://app.example.com/callback"),
        }, time ?? TimeProvider.System);

    /// <summary>Signs up the vault's owner and returns a cookie client with its anti-forgery header set.</summary>
    public Task<HttpClient> SignUpOwnerAsync(string userName = "alice") => SignUpAsync(userName);

    /// <summary>The id of the one pending request, waiting for it to show up (a held call creates it a moment later).</summary>
    public static async Task<string> PendingIdAsync(HttpClient owner)
    {
        for (var i = 0; i < 200; i++)
        {
            var page = await owner.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=pending");
            if (page!["items"]!.AsArray().FirstOrDefault()?["id"]?.GetValue<string>() is { } id) return id;
            await Task.Delay(25);
        }
        throw new TimeoutException("no pending request showed up");
    }

    /// <summary>Waits (20 s at most) until <paramref name="done"/>, advancing <paramref name="clock"/> (when given) a quarter second at a time meanwhile.</summary>
    public static async Task UntilAsync(Func<bool> done, string failure, Microsoft.Extensions.Time.Testing.FakeTimeProvider? clock = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            clock?.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(10);
        }
    }
}

public sealed record RecordedCall(HttpMethod Method, Uri Url, string? Body);

/// <summary>Records each request the client sends, then passes it on.</summary>
public sealed class Recorder(ConcurrentQueue<RecordedCall> calls) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        calls.Enqueue(new RecordedCall(request.Method, request.RequestUri!, body));
        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>A fake clock that counts the timers made on it (a delay is one): a client waiting on it has made its timer.</summary>
public sealed class TimerCountingClock(DateTimeOffset start) : Microsoft.Extensions.Time.Testing.FakeTimeProvider(start)
{
    private int _timers;

    public int TimersCreated => Volatile.Read(ref _timers);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _timers);
        return timer;
    }
}
