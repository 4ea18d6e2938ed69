using System.Diagnostics;
using System.Net;
using System.Text;
using static Okap.Bench.Load;

namespace Okap.Bench;

/// <summary>
/// <c>--cost</c>: one fake provider and one vault process per runtime configuration, all started together. At each
/// rate, one-second slices go round robin: direct to the fake, then through each vault in turn, so that noise from the
/// rest of the machine falls on every configuration alike. For each vault: CPU per call (its user + system time
/// during its own slices, over the calls it served), RSS (peak sampled during its slices) and latency added over the
/// direct calls of the same round; and its CPU while idle.
/// </summary>
internal static class CostBench
{
    // Names and overrides of the configurations compared: a name with a dot is a runtimeconfig.json property
    // (System.GC.Server), any other an environment variable. The bench's own runtimeconfig carries the settings the
    // hosts ship with (see Okap.Bench.csproj), so "shipped" overrides nothing; "web-default" is what an ASP.NET Core
    // project gets with no settings.
    private const string DefaultConfigs =
        "web-default:System.GC.Server=true,System.GC.Concurrent=true,System.GC.ConserveMemory=0,System.Threading.ThreadPool.UnfairSemaphoreSpinLimit=70;" +
        "shipped-but-spinning:System.Threading.ThreadPool.UnfairSemaphoreSpinLimit=70;" +
        "shipped:;" +
        "shipped+telemetry:Okap__Telemetry__Enabled=true";

    private sealed class Vault(string name, Process process, Target target)
    {
        public string Name { get; } = name;
        public Process Process { get; } = process;
        public Target Target { get; } = target;
        public long PeakRssKb;
    }

    public static async Task RunAsync(string token, int seconds, string? configs)
    {
        using var fake = StartChild("--role fake");
        var fakeUrl = await ReadUrlAsync(fake);
        var vaults = new List<Vault>();
        foreach (var config in (configs ?? DefaultConfigs).Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = config.IndexOf(':');
            var name = colon < 0 ? config : config[..colon];
            var overrides = colon < 0 ? [] : config[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2)).ToArray();
            var env = overrides.Where(kv => !kv[0].Contains('.')).ToDictionary(kv => kv[0], kv => kv[1]);
            var properties = overrides.Where(kv => kv[0].Contains('.')).ToArray();
            var process = StartChild($"--role vault --upstream {fakeUrl} --token {token}", env, properties.Length == 0 ? null : RuntimeConfig(name, properties));
            var url = await ReadUrlAsync(process);
            vaults.Add(new Vault(name, process, new Target(name, url + "/v1/openai/chat/completions", token)));
        }

        var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, MaxConnectionsPerServer = 1024 };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":64}""");
        var direct = new Target("direct", fakeUrl + "/v1/chat/completions", null);

        Console.WriteLine($"Okap.Bench --cost — {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (var v in vaults) Console.WriteLine($"  {v.Name}: pid {v.Process.Id}");

        // Warm-up: JIT, tiering, pools, caches.
        await ClosedLoopAsync(http, direct, body, 16, TimeSpan.FromSeconds(2));
        foreach (var v in vaults)
        {
            await ClosedLoopAsync(http, v.Target, body, 16, TimeSpan.FromSeconds(2));
            await OpenLoopAsync(http, v.Target, body, 500, TimeSpan.FromSeconds(1));
        }

        foreach (var rate in new[] { 500, 1000 })
        {
            var directStats = new List<Stats>();
            var vaultStats = vaults.Select(_ => new List<Stats>()).ToArray();
            var vaultCpu = new TimeSpan[vaults.Count];
            var fakeCpu = TimeSpan.Zero;
            for (var round = 0; round < seconds; round++)
            {
                var before = Cpu(fake);
                directStats.Add(await OpenLoopAsync(http, direct, body, rate, TimeSpan.FromSeconds(1)));
                fakeCpu += Cpu(fake) - before;
                for (var i = 0; i < vaults.Count; i++)
                {
                    var v = vaults[i];
                    using var sampling = new CancellationTokenSource();
                    var sampler = SampleRssAsync(v, sampling.Token);
                    before = Cpu(v.Process);
                    vaultStats[i].Add(await OpenLoopAsync(http, v.Target, body, rate, TimeSpan.FromSeconds(1)));
                    vaultCpu[i] += Cpu(v.Process) - before;
                    sampling.Cancel();
                    await sampler;
                }
            }
            var d = Stats.Merge(directStats);
            Console.WriteLine($"rate {rate}/s, {seconds} rounds: direct p50 {d.P50:F3} p99 {d.P99:F3} ms, fake provider CPU {Micros(fakeCpu, d.Count):F0} µs/call (errors {d.Errors})");
            for (var i = 0; i < vaults.Count; i++)
            {
                var v = Stats.Merge(vaultStats[i]);
                Console.WriteLine($"  {vaults[i].Name,-24} CPU {Micros(vaultCpu[i], v.Count),5:F0} µs/call | added p50 {v.P50 - d.P50:F3} p99 {v.P99 - d.P99:F3} ms (vault p50 {v.P50:F3} p99 {v.P99:F3}) | RSS peak {vaults[i].PeakRssKb / 1024.0:F1} MB | errors {v.Errors}");
            }
        }
        // Idle, after the load: what each vault burns with nothing to do (timers, flush loop, thread pool), once the
        // tiered compiler has finished.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var idleStart = vaults.Select(v => Cpu(v.Process)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(4));
        var idle = vaults.Select((v, i) => (Cpu(v.Process) - idleStart[i]).TotalMilliseconds / 4).ToArray();
        var idleRss = vaults.Select(v => Memory(v.Process.Id).RssKb).ToArray();
        for (var i = 0; i < vaults.Count; i++)
            Console.WriteLine($"  {vaults[i].Name,-24} idle CPU {idle[i]:F1} ms/s, RSS after the load {idleRss[i] / 1024.0:F1} MB");
        Console.WriteLine($"load average at end: {File.ReadAllText("/proc/loadavg").Trim()}");

        fake.Kill();
        foreach (var v in vaults) v.Process.Kill();
    }

    /// <summary>This program's runtimeconfig.json with some configProperties replaced, written to a temporary file.</summary>
    private static string RuntimeConfig(string name, string[][] properties)
    {
        var own = Path.ChangeExtension(System.Reflection.Assembly.GetEntryAssembly()!.Location, ".runtimeconfig.json");
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(own))!;
        var config = root["runtimeOptions"]!["configProperties"]!.AsObject();
        foreach (var kv in properties)
            config[kv[0]] = bool.TryParse(kv[1], out var b) ? b : long.TryParse(kv[1], out var n) ? n : kv[1];
        var path = Path.Combine(Path.GetTempPath(), $"okap-bench-{Environment.ProcessId}-{name}.runtimeconfig.json");
        File.WriteAllText(path, root.ToJsonString());
        return path;
    }

    private static TimeSpan Cpu(Process process)
    {
        process.Refresh();
        return process.TotalProcessorTime;
    }

    private static double Micros(TimeSpan cpu, int calls) => calls == 0 ? double.NaN : cpu.TotalMicroseconds / calls;

    private static async Task SampleRssAsync(Vault vault, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var rss = Memory(vault.Process.Id).RssKb;
                if (rss > vault.PeakRssKb) vault.PeakRssKb = rss;
                await Task.Delay(100, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
