using System.Diagnostics;
using System.Globalization;
using System.Text;
using static Okap.Bench.Load;

namespace Okap.Bench;

/// <summary>
/// <c>--cost</c>: one fake provider and one vault process per runtime configuration, all started together. At each
/// rate, one-second slices go round robin: direct to the fake, then through each vault in turn, so that noise from the
/// rest of the machine falls on every configuration alike. For each process: CPU per call (its user + system time
/// during its own slices, over the calls it served), context switches per call (all its threads, from /proc), bytes
/// allocated and gen0 collections (from the bench roles' <c>/bench/runtime</c>), RSS (peak sampled during its slices)
/// and latency added over the direct calls of the same round; and its CPU while idle.
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

    /// <summary>A process under measurement and what its slices have cost so far.</summary>
    internal sealed class Subject(string name, Process process, Target target, string baseUrl)
    {
        public string Name { get; } = name;
        public Process Process { get; } = process;
        public Target Target { get; } = target;
        public string BaseUrl { get; } = baseUrl;
        public long PeakRssKb;
        public TimeSpan Cpu;
        public long ContextSwitches;
        public long Allocated = -1;
        public long Gen0 = -1;
        public TimeSpan Jit;
        public long JitMethods;

        public void Reset()
        {
            Cpu = TimeSpan.Zero;
            ContextSwitches = 0;
            Allocated = Gen0 = -1;
            Jit = TimeSpan.Zero;
            JitMethods = 0;
        }
    }

    public static async Task RunAsync(string token, int seconds, string? configs, string? fakeConfig, bool hosts)
    {
        var fakeProcess = StartConfigured("fake", "--role fake", fakeConfig ?? "");
        var fakeUrl = await ReadUrlAsync(fakeProcess);
        var fake = new Subject("fake provider", fakeProcess, new Target("direct", fakeUrl + "/v1/chat/completions", null), fakeUrl);
        var vaults = new List<Subject>();
        foreach (var config in (configs ?? DefaultConfigs + ReadyToRunConfig()).Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = config.IndexOf(':');
            var name = colon < 0 ? config : config[..colon];
            var process = StartConfigured(name, $"--role vault --upstream {fakeUrl} --token {token}", colon < 0 ? "" : config[(colon + 1)..]);
            var url = await ReadUrlAsync(process);
            vaults.Add(new Subject(name, process, new Target(name, url + "/v1/openai/chat/completions", token), url));
        }

        var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, MaxConnectionsPerServer = 1024 };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":64}""");

        Console.WriteLine($"Okap.Bench --cost — {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"load average at start: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine($"  fake provider: pid {fake.Process.Id}{(fakeConfig is { Length: > 0 } ? " (" + fakeConfig + ")" : "")}");
        foreach (var v in vaults) Console.WriteLine($"  {v.Name}: pid {v.Process.Id}");

        // Warm-up: pools, caches, and the tiered JIT. Until the JIT has settled (fewer than 5 methods compiled in a
        // second of load, at most 30 s) a slice would measure compilation, not calls: a vault just started spends most of
        // its CPU in the JIT for its first ~20 s under moderate load (what that costs a cold instance: see "cold start").
        foreach (var subject in vaults.Prepend(fake))
        {
            await ClosedLoopAsync(http, subject.Target, body, 16, TimeSpan.FromSeconds(1));
            var settled = await SettleJitAsync(http, subject, body);
            Console.WriteLine($"  {subject.Name}: JIT settled after {settled.Seconds} s of load ({settled.Methods} methods compiled meanwhile)");
        }

        foreach (var rate in new[] { 500, 1000 })
        {
            var directStats = new List<Stats>();
            var vaultStats = vaults.Select(_ => new List<Stats>()).ToArray();
            fake.Reset();
            foreach (var v in vaults) v.Reset();
            for (var round = 0; round < seconds; round++)
            {
                directStats.Add(await SliceAsync(http, fake, body, rate));
                for (var i = 0; i < vaults.Count; i++) vaultStats[i].Add(await SliceAsync(http, vaults[i], body, rate));
            }
            var d = Stats.Merge(directStats);
            Console.WriteLine($"rate {rate}/s, {seconds} rounds: direct p50 {d.P50:F3} p99 {d.P99:F3} ms (errors {d.Errors})");
            Console.WriteLine($"  {"fake provider (1 exchange)",-26} {PerCall(fake, d.Count)}");
            for (var i = 0; i < vaults.Count; i++)
            {
                var v = Stats.Merge(vaultStats[i]);
                Console.WriteLine($"  {vaults[i].Name,-26} {PerCall(vaults[i], v.Count)} | added p50 {v.P50 - d.P50:F3} p99 {v.P99 - d.P99:F3} ms (vault p50 {v.P50:F3} p99 {v.P99:F3}) | RSS peak {vaults[i].PeakRssKb / 1024.0:F1} MB | errors {v.Errors}");
            }
        }
        // Idle, after the load: what each vault burns with nothing to do (timers, flush loop, thread pool), once the
        // tiered compiler has finished.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var idleStart = vaults.Select(v => Cpu(v.Process)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(4));
        var idle = vaults.Select((v, i) => (Cpu(v.Process) - idleStart[i]).TotalMilliseconds / 4).ToArray();
        for (var i = 0; i < vaults.Count; i++)
            Console.WriteLine($"  {vaults[i].Name,-26} idle CPU {idle[i]:F1} ms/s, after the load {MemoryText(vaults[i].Process.Id)}");
        foreach (var v in vaults) v.Process.Kill();

        if (hosts)
        {
            Console.WriteLine($"the shipped hosts, load average {File.ReadAllText("/proc/loadavg").Trim()}:");
            await HostsBench.RunAsync(http, fake, body, seconds, RepositoryRoot());
        }
        Console.WriteLine($"load average at end: {File.ReadAllText("/proc/loadavg").Trim()}");
        fake.Process.Kill();
    }

    /// <summary>
    /// The shipped settings on a ReadyToRun build of this program, when one is published
    /// (<c>dotnet publish bench/Okap.Bench -c Release -r linux-x64 --self-contained false</c>, which sets ReadyToRun).
    /// </summary>
    private static string ReadyToRunConfig()
    {
        var own = AppContext.BaseDirectory;
        var published = Path.Combine(own, "linux-x64", "publish", "Okap.Bench.dll");
        return File.Exists(published) ? $";shipped+ReadyToRun:dll={published}" : "";
    }

    /// <summary>The repository this bench was built in (the folder above <c>bench/</c>).</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (Directory.Exists(Path.Combine(dir.FullName, "bench")) && Directory.Exists(Path.Combine(dir.FullName, "src"))) return dir.FullName;
        throw new DirectoryNotFoundException("no repository above " + AppContext.BaseDirectory);
    }

    /// <summary>Open-loop load at 500/s in one-second slices until a slice compiles fewer than 5 methods (30 s at most).</summary>
    private static async Task<(int Seconds, long Methods)> SettleJitAsync(HttpClient http, Subject subject, byte[] body)
    {
        long methods = 0;
        for (var second = 1; second <= 30; second++)
        {
            var before = await RuntimeCountersAsync(http, subject);
            await OpenLoopAsync(http, subject.Target, body, 500, TimeSpan.FromSeconds(1));
            var after = await RuntimeCountersAsync(http, subject);
            if (before is null || after is null) return (second, -1); // not a bench role: one second of warm-up is all it gets
            methods += after.Value.JitMethods - before.Value.JitMethods;
            if (after.Value.JitMethods - before.Value.JitMethods < 5) return (second, methods);
        }
        return (30, methods);
    }

    /// <summary>Starts a bench role with <c>name=override,…</c> style overrides (runtimeconfig properties and environment variables).</summary>
    private static Process StartConfigured(string name, string arguments, string overrideList)
    {
        var overrides = overrideList.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2)).ToArray();
        var assembly = overrides.FirstOrDefault(kv => kv[0] == "dll")?[1];
        var env = overrides.Where(kv => !kv[0].Contains('.') && kv[0] != "dll").ToDictionary(kv => kv[0], kv => kv[1]);
        var properties = overrides.Where(kv => kv[0].Contains('.')).ToArray();
        return StartChild(arguments, env, properties.Length == 0 ? null : RuntimeConfig(name, properties, assembly), assembly);
    }

    /// <summary>One second of open-loop load on <paramref name="subject"/>, adding what it cost the subject's process.</summary>
    internal static async Task<Stats> SliceAsync(HttpClient http, Subject subject, byte[] body, int rate, params Process[] alsoCounted)
    {
        using var sampling = new CancellationTokenSource();
        var sampler = SampleRssAsync(subject, alsoCounted, sampling.Token);
        var runtime = await RuntimeCountersAsync(http, subject);
        var cpu = Cpu(subject.Process) + alsoCounted.Aggregate(TimeSpan.Zero, (sum, p) => sum + Cpu(p));
        var switches = ContextSwitches(subject.Process.Id) + alsoCounted.Sum(p => ContextSwitches(p.Id));
        var stats = await OpenLoopAsync(http, subject.Target, body, rate, TimeSpan.FromSeconds(1));
        subject.Cpu += Cpu(subject.Process) + alsoCounted.Aggregate(TimeSpan.Zero, (sum, p) => sum + Cpu(p)) - cpu;
        subject.ContextSwitches += ContextSwitches(subject.Process.Id) + alsoCounted.Sum(p => ContextSwitches(p.Id)) - switches;
        var after = await RuntimeCountersAsync(http, subject);
        if (runtime is { } r && after is { } a)
        {
            subject.Allocated = Math.Max(subject.Allocated, 0) + a.Allocated - r.Allocated;
            subject.Gen0 = Math.Max(subject.Gen0, 0) + a.Gen0 - r.Gen0;
            subject.Jit += a.Jit - r.Jit;
            subject.JitMethods += a.JitMethods - r.JitMethods;
        }
        sampling.Cancel();
        await sampler;
        return stats;
    }

    internal static string PerCall(Subject s, int calls)
    {
        var text = $"CPU {Micros(s.Cpu, calls),5:F0} µs/call, {(double)s.ContextSwitches / calls,4:F1} ctx sw/call";
        if (s.Allocated >= 0) text += $", {(double)s.Allocated / calls / 1024,5:F1} KB alloc/call, {s.Gen0 * 1000.0 / calls,4:F1} gen0/1k calls, JIT {Micros(s.Jit, calls),4:F0} µs/call ({s.JitMethods} methods)";
        return text;
    }

    /// <summary>Bytes allocated and gen0 collections of a bench role (its /bench/runtime), or null for other processes.</summary>
    private static async Task<(long Allocated, long Gen0, TimeSpan Jit, long JitMethods)?> RuntimeCountersAsync(HttpClient http, Subject subject)
    {
        try
        {
            using var res = await http.GetAsync(subject.BaseUrl + "/bench/runtime");
            if (!res.IsSuccessStatusCode) return null;
            var parts = (await res.Content.ReadAsStringAsync()).Split(' ');
            long At(int i) => long.Parse(parts[i], CultureInfo.InvariantCulture);
            return (At(0), At(1), TimeSpan.FromTicks(At(4)), At(5));
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Voluntary and involuntary context switches of all the process's threads (those alive now).</summary>
    internal static long ContextSwitches(int pid)
    {
        long total = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    foreach (var line in File.ReadLines(task + "/status"))
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                            total += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                }
                catch (IOException) { } // the thread ended meanwhile
            }
        }
        catch (DirectoryNotFoundException) { }
        return total;
    }

    /// <summary>This program's runtimeconfig.json with some configProperties replaced, written to a temporary file.</summary>
    private static string RuntimeConfig(string name, string[][] properties, string? assembly)
    {
        var own = Path.ChangeExtension(assembly ?? System.Reflection.Assembly.GetEntryAssembly()!.Location, ".runtimeconfig.json");
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(own))!;
        var config = root["runtimeOptions"]!["configProperties"]!.AsObject();
        foreach (var kv in properties)
            config[kv[0]] = bool.TryParse(kv[1], out var b) ? b : long.TryParse(kv[1], out var n) ? n : kv[1];
        var path = Path.Combine(Path.GetTempPath(), $"okap-bench-{Environment.ProcessId}-{name}.runtimeconfig.json");
        File.WriteAllText(path, root.ToJsonString());
        return path;
    }

    /// <summary>
    /// RSS, split into anonymous memory (GC heap, native heaps), file-backed pages (runtime and framework images, shared
    /// with other .NET processes) and shared memory (JIT'd code: with W^X the runtime maps its code memory twice).
    /// </summary>
    internal static string MemoryText(int pid)
    {
        if (!File.Exists($"/proc/{pid}/status")) return "exited";
        var fields = File.ReadLines($"/proc/{pid}/status").Select(l => l.Split(':', 2)).Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => long.TryParse(kv[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture, out var kb) ? kb : 0);
        if (!fields.ContainsKey("VmRSS")) return "exited";
        return $"RSS {fields["VmRSS"] / 1024.0:F1} MB (anonymous {fields["RssAnon"] / 1024.0:F1}, file-backed {fields["RssFile"] / 1024.0:F1}, shared memory {fields["RssShmem"] / 1024.0:F1})";
    }

    internal static TimeSpan Cpu(Process process)
    {
        process.Refresh();
        return process.TotalProcessorTime;
    }

    private static double Micros(TimeSpan cpu, int calls) => calls == 0 ? double.NaN : cpu.TotalMicroseconds / calls;

    private static async Task SampleRssAsync(Subject subject, Process[] alsoCounted, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var rss = Memory(subject.Process.Id).RssKb + alsoCounted.Sum(p => Memory(p.Id).RssKb);
                if (rss > subject.PeakRssKb) subject.PeakRssKb = rss;
                await Task.Delay(100, ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
