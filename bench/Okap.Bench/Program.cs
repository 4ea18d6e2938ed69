using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Okap.Bench;
using static Okap.Bench.Load;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Tokens;

// Okap.Bench: direct calls to a fake provider vs. the same calls through the vault, all on loopback.
// Three processes: this load generator, the fake provider (--role fake) and the vault (--role vault).
//   dotnet run -c Release --project bench/Okap.Bench [-- --seconds 8]
// --alloc: only the bytes the vault allocates per proxied call (--alloc-calls N sequential calls, default 2000).
// --cost: CPU per call, RSS and latency of the vault under several runtime configurations, side by side in one run.

var role = Arg("--role");
if (role == "fake") { await RunFakeAsync(); return; }
if (role == "vault") { await RunVaultAsync(Arg("--upstream")!, Arg("--token")!, Arg("--token-unlimited")); return; }

var seconds = int.TryParse(Arg("--seconds"), out var s) ? s : 8;
var rate = int.TryParse(Arg("--rate"), out var r) ? r : 1000;
var concurrency = int.TryParse(Arg("--concurrency"), out var c) ? c : 16;
var saturation = int.TryParse(Arg("--saturation"), out var sat) ? sat : 64;
var token = Secrets.NewToken();
var unlimited = Secrets.NewToken();

if (Environment.GetCommandLineArgs().Contains("--cost"))
{
    await CostBench.RunAsync(token, seconds, Arg("--configs"), Arg("--fake-config"), hosts: !Environment.GetCommandLineArgs().Contains("--no-hosts"));
    return;
}

using var fake = StartChild("--role fake");
var fakeUrl = await ReadUrlAsync(fake);
using var vault = StartChild($"--role vault --upstream {fakeUrl} --token {token} --token-unlimited {unlimited}");
var vaultUrl = await ReadUrlAsync(vault);

var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, MaxConnectionsPerServer = 1024 };
using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":64}""");
var streamBody = Encoding.UTF8.GetBytes("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":64,"stream":true}""");
var direct = new Target("direct", fakeUrl + "/v1/chat/completions", null);
var proxied = new Target("vault", vaultUrl + "/v1/openai/chat/completions", token);
var proxiedUnlimited = new Target("vault without limits", vaultUrl + "/v1/openai/chat/completions", unlimited);

Console.WriteLine($"Okap.Bench — {Environment.ProcessorCount} cores, .NET {Environment.Version}, fake {fakeUrl}, vault {vaultUrl}");
Console.WriteLine($"load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine($"duration {seconds}s per phase, fixed concurrency {concurrency}, fixed rate {rate}/s, saturation concurrency {saturation}");

// Sanity: the vault answers like the provider.
foreach (var t in new[] { direct, proxied })
{
    using var res = await http.SendAsync(t.Request(body));
    if (res.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{t.Name}: {(int)res.StatusCode} {await res.Content.ReadAsStringAsync()}");
}

// Warm-up (JIT, connection pools, caches).
await ClosedLoopAsync(http, direct, body, concurrency, TimeSpan.FromSeconds(2));
await ClosedLoopAsync(http, proxied, body, concurrency, TimeSpan.FromSeconds(3));

var results = new List<string>();
void Report(string line) { Console.WriteLine(line); results.Add(line); }

// Bytes the vault process allocates per proxied call (Kestrel, the proxy and YARP together), over sequential calls.
var allocCalls = int.TryParse(Arg("--alloc-calls"), out var ac) ? ac : 2000;
var perCall = await AllocatedPerCallAsync(http, vaultUrl, proxied, body, allocCalls);
Report($"vault allocation: {perCall:F0} bytes per call ({allocCalls} sequential calls)");
if (Environment.GetCommandLineArgs().Contains("--alloc"))
{
    Report($"load average at end: {File.ReadAllText("/proc/loadavg").Trim()}");
    fake.Kill();
    vault.Kill();
    return;
}

// Direct and vault phases alternate in one-second slices, so noise from other work on the machine hits both alike.
// 1. Fixed concurrency.
var (dc, vc) = await AlternateAsync(seconds, (t, d) => ClosedLoopAsync(http, t, body, concurrency, d), direct, proxied);
Report($"fixed concurrency {concurrency}: direct p50 {dc.P50:F3} ms p99 {dc.P99:F3} ms ({dc.Rps:F0} req/s) | vault p50 {vc.P50:F3} ms p99 {vc.P99:F3} ms ({vc.Rps:F0} req/s) | added p50 {vc.P50 - dc.P50:F3} ms p99 {vc.P99 - dc.P99:F3} ms");

// 2. Fixed rate (open loop: sends on schedule whether or not earlier calls finished; latency from each send).
var (dr, vr) = await AlternateAsync(seconds, (t, d) => OpenLoopAsync(http, t, body, rate, d), direct, proxied);
Report($"fixed rate {rate}/s: direct p50 {dr.P50:F3} p90 {dr.P90:F3} p99 {dr.P99:F3} ms | vault p50 {vr.P50:F3} p90 {vr.P90:F3} p99 {vr.P99:F3} ms | added p50 {vr.P50 - dr.P50:F3} p90 {vr.P90 - dr.P90:F3} p99 {vr.P99 - dr.P99:F3} ms (sent {dr.Count}/{vr.Count}, errors {dr.Errors}/{vr.Errors})");

// 2b. The same with a token that has no spend or rate limit (no budget lease): what leases add, if anything.
var (du, vu) = await AlternateAsync(seconds, (t, d) => OpenLoopAsync(http, t, body, rate, d), direct, proxiedUnlimited);
Report($"fixed rate {rate}/s, token without limits: direct p50 {du.P50:F3} p99 {du.P99:F3} ms | vault p50 {vu.P50:F3} p99 {vu.P99:F3} ms | added p50 {vu.P50 - du.P50:F3} p99 {vu.P99 - du.P99:F3} ms");

// 2c. Store round trips per proxied call at steady state with leases (limits on; the in-memory store counts them).
var callsBefore = await StoreCallsAsync();
var leased = await OpenLoopAsync(http, proxied, body, rate, TimeSpan.FromSeconds(seconds));
await Task.Delay(TimeSpan.FromSeconds(6)); // one more flush (FlushInterval 5 s)
var storeCalls = await StoreCallsAsync() - callsBefore;
Report($"store round trips with leases: {storeCalls} for {leased.Count} proxied calls at {rate}/s over {seconds} s = {(double)storeCalls / Math.Max(1, leased.Count):F4} per call (table transactions per call on Azurite: tests/Okap.Server.Tests Steady_state)");

async Task<long> StoreCallsAsync() => long.Parse(await http.GetStringAsync(vaultUrl + "/bench/store-calls"), CultureInfo.InvariantCulture);

// 3. Saturation throughput.
var ds = await ClosedLoopAsync(http, direct, body, saturation, TimeSpan.FromSeconds(Math.Max(4, seconds * 3 / 4)));
var vs = await ClosedLoopAsync(http, proxied, body, saturation, TimeSpan.FromSeconds(Math.Max(4, seconds * 3 / 4)));
Report($"saturation (concurrency {saturation}): direct {ds.Rps:F0} req/s | vault {vs.Rps:F0} req/s ({vs.Rps / ds.Rps:P0} of direct; all three processes share {Environment.ProcessorCount} cores)");

// 4. Time to first byte on streams (sequential, interleaved).
var (dt, vt) = await FirstByteAsync(http, direct, proxied, streamBody, 400);
Report($"stream first byte: direct p50 {dt.P50:F3} ms p99 {dt.P99:F3} ms | vault p50 {vt.P50:F3} ms p99 {vt.P99:F3} ms | added p50 {vt.P50 - dt.P50:F3} ms p99 {vt.P99 - dt.P99:F3} ms");

// 5. Vault memory and CPU (whole run, load generator phases and idle gaps included).
var (rss, hwm) = Memory(vault.Id);
Report($"vault CPU over the run: {vault.TotalProcessorTime.TotalSeconds:F2} s; per-call CPU at a fixed rate: --cost");
Report($"load average at end: {File.ReadAllText("/proc/loadavg").Trim()}");
Report($"vault memory: RSS {rss / 1024.0:F1} MB now, peak {hwm / 1024.0:F1} MB");

fake.Kill();
vault.Kill();
return;

static async Task<(Stats Direct, Stats Vault)> AlternateAsync(int seconds, Func<Target, TimeSpan, Task<Stats>> run, Target direct, Target vault)
{
    var d = new List<Stats>();
    var v = new List<Stats>();
    for (var i = 0; i < seconds; i++)
    {
        d.Add(await run(direct, TimeSpan.FromSeconds(1)));
        v.Add(await run(vault, TimeSpan.FromSeconds(1)));
    }
    return (Stats.Merge(d), Stats.Merge(v));
}

static async Task<double> AllocatedPerCallAsync(HttpClient http, string vaultUrl, Target vault, byte[] body, int calls)
{
    async Task<long> AllocatedAsync() => long.Parse(await http.GetStringAsync(vaultUrl + "/bench/allocated"), CultureInfo.InvariantCulture);
    var before = await AllocatedAsync();
    for (var i = 0; i < calls; i++)
    {
        using var res = await http.SendAsync(vault.Request(body));
        await res.Content.LoadIntoBufferAsync();
        if (res.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"vault: {(int)res.StatusCode}");
    }
    // The reading call's own allocation is counted once in each difference and cancels out.
    return (await AllocatedAsync() - before) / (double)calls;
}

static async Task<(Stats Direct, Stats Vault)> FirstByteAsync(HttpClient http, Target direct, Target vault, byte[] body, int count)
{
    var d = new List<double>();
    var v = new List<double>();
    var buffer = new byte[16 * 1024];
    for (var i = 0; i < count + 50; i++)
    {
        foreach (var (t, list) in new[] { (direct, d), (vault, v) })
        {
            var start = Stopwatch.GetTimestamp();
            using var res = await http.SendAsync(t.Request(body), HttpCompletionOption.ResponseHeadersRead);
            await using var stream = await res.Content.ReadAsStreamAsync();
            var n = await stream.ReadAsync(buffer);
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            while (n > 0) n = await stream.ReadAsync(buffer);
            if (i >= 50) list.Add(elapsed); // first 50 rounds are warm-up
        }
    }
    return (Stats.From(d.ToArray(), TimeSpan.Zero, 0), Stats.From(v.ToArray(), TimeSpan.Zero, 0));
}

static async Task RunFakeAsync()
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
    var app = builder.Build();
    var json = Encoding.UTF8.GetBytes("""{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how are you?"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":7,"total_tokens":21,"prompt_tokens_details":{"cached_tokens":0}}}""");
    static byte[] Event(string data) => Encoding.UTF8.GetBytes("data: " + data + "\n\n");
    var first = Event("""{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}""");
    var words = new[] { "Hello", " there,", " how", " are", " you?" }.Select(w => Event("{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + w + "\"}}]}")).ToArray();
    var usage = Event("""{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":14,"completion_tokens":5,"total_tokens":19}}""");
    var done = Event("[DONE]");
    MapRuntimeCounters(app);
    app.MapPost("/v1/chat/completions", async (HttpContext ctx) =>
    {
        // A pooled buffer: the fake stands for a provider's floor, so it should not allocate what it need not.
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(8192);
        var length = 0;
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(buffer.AsMemory(length))) > 0) length += n;
        var stream = buffer.AsSpan(0, length).IndexOf("\"stream\":true"u8) >= 0;
        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        if (stream)
        {
            ctx.Response.ContentType = "text/event-stream";
            await ctx.Response.Body.WriteAsync(first);
            await ctx.Response.Body.FlushAsync();
            await Task.Delay(2); // the model "thinks" between tokens
            foreach (var w in words) await ctx.Response.Body.WriteAsync(w);
            await ctx.Response.Body.WriteAsync(usage);
            await ctx.Response.Body.WriteAsync(done);
            return;
        }
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength = json.Length;
        await ctx.Response.Body.WriteAsync(json);
    });
    await app.StartAsync();
    Console.WriteLine("URL " + app.Urls.First());
    await app.WaitForShutdownAsync();
}

static async Task RunVaultAsync(string upstream, string token, string? unlimitedToken)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Okap:Proxy:Providers:openai:BaseUrl"] = upstream + "/v1" });
    var tokens = new MemTokenStore();
    var keys = new MemKeyStore();
    var secrets = new MemSecretStore();
    builder.Services.AddSingleton<ITokenStore>(tokens);
    builder.Services.AddSingleton<IKeyMetadataStore>(keys);
    builder.Services.AddSingleton<ISecretStore>(secrets);
    var usage = new MemUsageStore();
    builder.Services.AddSingleton<IUsageStore>(usage);
    builder.Services.AddOkapProxy(builder.Configuration);
    // Off unless the environment says Okap__Telemetry__Enabled=true (then collected with no exporter: the cost of collecting).
    builder.Services.AddOkapTelemetry(builder.Configuration);
    var app = builder.Build();
    app.MapOkapProxy();
    MapRuntimeCounters(app);
    app.MapGet("/bench/allocated", () => GC.GetTotalAllocatedBytes(precise: true).ToString(CultureInfo.InvariantCulture));
    app.MapGet("/bench/store-calls", () => (Interlocked.Read(ref usage.Calls) + Volatile.Read(ref tokens.Lookups)).ToString(CultureInfo.InvariantCulture));
    var now = DateTimeOffset.UtcNow;
    await tokens.CreateAsync(new TokenRecord
    {
        Id = "tok_bench", Hash = Secrets.Hash(token), OwnerId = "own_bench", AppName = "bench", DisplayPrefix = Secrets.DisplayPrefix(token), CreatedAt = now,
        // Every check on the hot path is exercised: model allow-list, capability, rate limits, tokens_per_request, spend reservation.
        Grants = [new Grant("openai", ["gpt-4o-mini"], ["chat"], new Limits { DailySpendMicros = 1_000_000_000_000, MonthlySpendMicros = 1_000_000_000_000, RequestsPerMinute = 10_000_000, RequestsPerDay = 100_000_000, TokensPerRequest = 4096 }, null)],
    }, default);
    if (unlimitedToken is not null)
    {
        await tokens.CreateAsync(new TokenRecord
        {
            Id = "tok_bench_unlimited", Hash = Secrets.Hash(unlimitedToken), OwnerId = "own_bench", AppName = "bench", DisplayPrefix = Secrets.DisplayPrefix(unlimitedToken), CreatedAt = now,
            Grants = [new Grant("openai", ["gpt-4o-mini"], ["chat"], Limits.None, null)],
        }, default);
    }
    await keys.UpsertAsync(new MasterKeyInfo { OwnerId = "own_bench", Provider = "openai", Last4 = "abcd", CreatedAt = now, UpdatedAt = now }, default);
    await secrets.SetAsync("own_bench", "openai", "sk-bench-master-key-abcd", default);
    await app.StartAsync();
    Console.WriteLine("URL " + app.Urls.First());
    await app.WaitForShutdownAsync();
}

// Bench roles only: the process's own GC figures, read by --cost before and after each slice (bytes allocated and
// collections per call cannot be seen from outside the process without a trace session).
static void MapRuntimeCounters(WebApplication app) =>
    app.MapGet("/bench/runtime", () => Results.Text(string.Create(CultureInfo.InvariantCulture,
        $"{GC.GetTotalAllocatedBytes(precise: false)} {GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} {System.Runtime.JitInfo.GetCompilationTime(currentThread: false).Ticks} {System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false)}")));

internal sealed record Target(string Name, string Url, string? Token)
{
    public HttpRequestMessage Request(byte[] body)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, Url) { Content = new ByteArrayContent(body), Version = HttpVersion.Version11 };
        req.Content.Headers.ContentType = new("application/json");
        req.Headers.TryAddWithoutValidation("Authorization", "Bearer " + (Token ?? "sk-direct"));
        return req;
    }
}

internal sealed record Stats(double P50, double P90, double P99, double Rps, int Errors, int Count)
{
    public double[] Samples { get; init; } = [];
    public TimeSpan Elapsed { get; init; }

    public static Stats Merge(IReadOnlyList<Stats> parts) =>
        From(parts.SelectMany(p => p.Samples).ToArray(), TimeSpan.FromTicks(parts.Sum(p => p.Elapsed.Ticks)), parts.Sum(p => p.Errors));

    public static Stats From(double[] samples, TimeSpan elapsed, int errors)
    {
        Array.Sort(samples);
        double P(double q) => samples.Length == 0 ? double.NaN : samples[Math.Min(samples.Length - 1, (int)Math.Ceiling(q * samples.Length) - 1)];
        return new Stats(P(0.50), P(0.90), P(0.99), elapsed > TimeSpan.Zero ? samples.Length / elapsed.TotalSeconds : 0, errors, samples.Length) { Samples = samples, Elapsed = elapsed };
    }
}
