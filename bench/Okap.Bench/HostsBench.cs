using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Okap.Testing;
using Okap.Testing.Vaults;
using static Okap.Bench.Load;

namespace Okap.Bench;

/// <summary>
/// The part of <c>--cost</c> that runs the shipped hosts as they are deployed: the self-hosted server
/// (<c>src/Okap.Server</c>'s build output, SQLite) and the Functions app under the real Functions host
/// (<c>../shared/functions-host/func-start.sh</c>, or <c>func</c> on PATH, on Azurite), each with a real account, master
/// key and token made over HTTP. For each: cold start (process start to the first proxied answer, and the CPU spent
/// until then, with the token already stored), then CPU and context switches per call and RSS of the whole process tree
/// (for Functions: host + worker) at 500 and 1,000 calls/s, interleaved with direct calls to the fake provider.
/// </summary>
internal static class HostsBench
{
    private const string MasterKey = "sk-bench-master-key-abcd";

    public static async Task RunAsync(HttpClient http, CostBench.Subject fake, byte[] body, int seconds, string repository)
    {
        var server = Path.Combine(repository, "src", "Okap.Server", "bin", "Release", "net10.0", "Okap.Server.dll");
        var functions = Path.Combine(repository, "src", "Okap.Functions", "bin", "Release", "net10.0");
        var hosts = new List<HostUnderBench>();
        if (File.Exists(server)) hosts.Add(new ServerHost(server, fake.BaseUrl));
        else Console.WriteLine($"server: skipped, {server} is not built (dotnet build -c Release src/Okap.Server)");
        var script = FindFunctionsScript(repository);
        if (!File.Exists(Path.Combine(functions, "functions.metadata"))) Console.WriteLine($"Functions: skipped, {functions} is not built (dotnet build -c Release src/Okap.Functions)");
        else if (script is null && FuncOnPath() is null) Console.WriteLine("Functions: skipped, neither func on PATH nor shared/functions-host/func-start.sh beside the repository");
        else hosts.Add(new FunctionsHostUnderBench(functions, repository, script, fake.BaseUrl));

        foreach (var host in hosts)
        {
            try
            {
                await MeasureAsync(http, fake, body, seconds, host);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or HttpRequestException)
            {
                Console.WriteLine($"{host.Name}: failed, {ex.Message}\n{host.OutputTail()}");
            }
            finally
            {
                await host.DisposeAsync();
            }
        }
    }

    private static async Task MeasureAsync(HttpClient http, CostBench.Subject fake, byte[] body, int seconds, HostUnderBench host)
    {
        // First start: an account, the master key and a token with no limits (as issue 13 measured), over HTTP.
        await host.StartAsync();
        await host.WaitHealthyAsync(TimeSpan.FromMinutes(2));
        var vault = new BenchVault(host);
        var owner = await vault.SignUpAsync(setupToken: await vault.SetupTokenAsync());
        await owner.SetKeyAsync(MasterKey);
        // Every check of the hot path is exercised (spend caps, rpm/rpd, tokens_per_request), with caps the load never reaches.
        var (token, _) = await owner.TokenAsync("bench", new { daily_spend = 1000.0, monthly_spend = 1000.0, requests_per_minute = 100_000, requests_per_day = 10_000_000, tokens_per_request = 4096 });
        await host.StopAsync();

        // Cold start: the token is stored; how long until the first proxied call is answered, and at what CPU.
        var started = Stopwatch.GetTimestamp();
        await host.StartAsync();
        var target = new Target(host.Name, host.Url + "/v1/openai/chat/completions", token);
        while (true)
        {
            try
            {
                using var res = await http.SendAsync(target.Request(body));
                if (res.StatusCode == HttpStatusCode.OK) break;
            }
            catch (HttpRequestException) { }
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(2)) throw new TimeoutException("no proxied answer within 2 minutes of the start");
            await Task.Delay(20);
        }
        var cold = Stopwatch.GetElapsedTime(started);
        var tree = host.Tree();
        var coldCpu = tree.Aggregate(TimeSpan.Zero, (sum, p) => sum + CostBench.Cpu(p));
        Console.WriteLine($"{host.Name}: cold start {cold.TotalSeconds:F2} s to the first proxied answer, CPU {coldCpu.TotalSeconds:F2} s, RSS {tree.Sum(p => Memory(p.Id).RssKb) / 1024.0:F1} MB ({tree.Length} processes)");

        // Warm-up (no JIT counters from outside the process: a fixed 15 s of moderate load, as the bench roles settle in ~10 s).
        await ClosedLoopAsync(http, target, body, 16, TimeSpan.FromSeconds(2));
        await OpenLoopAsync(http, target, body, 500, TimeSpan.FromSeconds(15));
        var subject = new CostBench.Subject(host.Name, tree[0], target, host.Url);
        foreach (var rate in new[] { 500, 1000 })
        {
            fake.Reset();
            subject.Reset();
            var direct = new List<Stats>();
            var through = new List<Stats>();
            for (var round = 0; round < seconds; round++)
            {
                direct.Add(await CostBench.SliceAsync(http, fake, body, rate));
                through.Add(await CostBench.SliceAsync(http, subject, body, rate, tree[1..]));
            }
            var d = Stats.Merge(direct);
            var v = Stats.Merge(through);
            if (v.Errors > 0) await ShowOneAnswerAsync(http, target, body);
            Console.WriteLine($"  {host.Name} at {rate}/s: {CostBench.PerCall(subject, v.Count)} | added p50 {v.P50 - d.P50:F3} p99 {v.P99 - d.P99:F3} ms (direct p50 {d.P50:F3} p99 {d.P99:F3}) | RSS peak {subject.PeakRssKb / 1024.0:F1} MB | errors {v.Errors}");
        }
        Console.WriteLine($"  {host.Name} after the load: " + string.Join("; ", tree.Where(p => !p.HasExited).Select(p => $"pid {p.Id} {CostBench.MemoryText(p.Id)}")));
    }

    /// <summary>When calls failed: what one call answers now, so the figures are not taken for those of a working proxy.</summary>
    private static async Task ShowOneAnswerAsync(HttpClient http, Target target, byte[] body)
    {
        using var res = await http.SendAsync(target.Request(body));
        var text = await res.Content.ReadAsStringAsync();
        Console.WriteLine($"  (errors: a call now answers {(int)res.StatusCode} {(text.Length > 300 ? text[..300] : text)})");
    }

    private static string? FindFunctionsScript(string repository)
    {
        if (Environment.GetEnvironmentVariable("OKAP_FUNCTIONS_HOST_SCRIPT") is { Length: > 0 } configured) return configured;
        for (var dir = Directory.GetParent(repository); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "functions-host", "func-start.sh");
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string? FuncOnPath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "func")).FirstOrDefault(File.Exists);

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The helpers of the behaviour suite (sign-up, keys, tokens over HTTP) on a host the bench started.</summary>
    private sealed class BenchVault(HostUnderBench host) : VaultUnderTest
    {
        public override string Url => host.Url;
        public override StoreKind Store => host.Store;
        public override string HostKind => host.Name;
        public override string? BaseDomain => null;
        public override string LogText => host.Output;
        public override Task<string> StoredTextAsync() => throw new NotSupportedException();

        public override async Task<string> SetupTokenAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                var match = Regex.Match(host.Output, @"/#/setup\?token=(\S+)");
                if (match.Success) return match.Groups[1].Value;
                await Task.Delay(100);
            }
            throw new TimeoutException("no setup link in the output");
        }

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A host process (and its children), started and stopped on one port with one store.</summary>
    private abstract class HostUnderBench : IAsyncDisposable
    {
        private readonly StringBuilder _output = new();
        private Process? _process;

        protected HostUnderBench(string name, StoreKind store)
        {
            Name = name;
            Store = store;
            Port = FreePort();
        }

        public string Name { get; }
        public StoreKind Store { get; }
        public int Port { get; }
        public string Url => $"http://127.0.0.1:{Port}";

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        public string OutputTail() => Output.Length > 3000 ? Output[^3000..] : Output;

        protected abstract Task<ProcessStartInfo> StartInfoAsync();

        public virtual async Task StartAsync()
        {
            var start = await StartInfoAsync();
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.UseShellExecute = false;
            lock (_output) _output.Clear();
            _process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + Name);
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public async Task WaitHealthyAsync(TimeSpan timeout)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (_process!.HasExited) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}");
                try
                {
                    if ((await http.GetAsync(Url + "/okap/health")).StatusCode == HttpStatusCode.OK) return;
                }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
                await Task.Delay(100);
            }
            throw new TimeoutException($"{Name} did not serve /okap/health within {timeout}");
        }

        /// <summary>The started process and every descendant (for Functions: the script, the host and the worker).</summary>
        public Process[] Tree()
        {
            var parents = new Dictionary<int, int>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
                }
                catch (IOException) { }
            }
            var tree = new List<int> { _process!.Id };
            for (var i = 0; i < tree.Count; i++) tree.AddRange(parents.Where(kv => kv.Value == tree[i]).Select(kv => kv.Key));
            var alive = new List<Process>();
            foreach (var pid in tree)
            {
                try { alive.Add(Process.GetProcessById(pid)); } catch (ArgumentException) { } // ended meanwhile
            }
            return alive.ToArray();
        }

        public async Task StopAsync()
        {
            if (_process is null) return;
            var tree = Tree();
            if (!_process.HasExited)
            {
                using (var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture) } })) kill?.WaitForExit();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try { await _process.WaitForExitAsync(timeout.Token); } catch (OperationCanceledException) { }
            }
            foreach (var p in tree)
            {
                try { if (!p.HasExited) p.Kill(); } catch (InvalidOperationException) { }
            }
            _process.Dispose();
            _process = null;
        }

        public virtual async ValueTask DisposeAsync() => await StopAsync();
    }

    private sealed class ServerHost(string dll, string fakeUrl) : HostUnderBench("server (SQLite)", StoreKind.Sqlite)
    {
        private readonly string _data = Path.Combine(Path.GetTempPath(), "okap-bench-server-" + Guid.NewGuid().ToString("N")[..8]);

        protected override Task<ProcessStartInfo> StartInfoAsync()
        {
            var start = new ProcessStartInfo("dotnet") { ArgumentList = { dll }, WorkingDirectory = Path.GetDirectoryName(dll)! };
            start.Environment["Kestrel__Endpoints__Http__Url"] = Url;
            start.Environment["Okap__PublicUrl"] = Url;
            start.Environment["Okap__Sqlite__DataDirectory"] = _data;
            start.Environment["Okap__Proxy__Providers__openai__BaseUrl"] = fakeUrl + "/v1";
            return Task.FromResult(start);
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
        }
    }

    private sealed class FunctionsHostUnderBench(string app, string repository, string? script, string fakeUrl) : HostUnderBench("Functions host", StoreKind.Azurite)
    {
        private readonly string _app = Path.Combine(Path.GetTempPath(), "okap-bench-functions-" + Guid.NewGuid().ToString("N")[..8]);
        private AzuriteProcess? _azurite;

        protected override async Task<ProcessStartInfo> StartInfoAsync()
        {
            if (_azurite is null)
            {
                // The app as docs/functions.md runs it: the build output with the sample settings next to it.
                foreach (var dir in Directory.GetDirectories(app, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(app, _app, StringComparison.Ordinal));
                Directory.CreateDirectory(_app);
                foreach (var file in Directory.GetFiles(app, "*", SearchOption.AllDirectories))
                    if (Path.GetFileName(file) != "local.settings.json") File.Copy(file, file.Replace(app, _app, StringComparison.Ordinal));
                File.Copy(Path.Combine(repository, "local.settings.sample.json"), Path.Combine(_app, "local.settings.json"));
                _azurite = await AzuriteProcess.StartAllServicesAsync();
            }
            var port = Port.ToString(CultureInfo.InvariantCulture);
            var start = script is null
                ? new ProcessStartInfo("func") { ArgumentList = { "start", "--port", port } }
                : new ProcessStartInfo("bash") { ArgumentList = { script, _app, port } };
            start.WorkingDirectory = _app;
            start.Environment["AzureWebJobsStorage"] = _azurite.AllServicesConnectionString;
            start.Environment["AzureFunctionsWebHost__hostid"] = "okap-bench";
            start.Environment["Okap__Azure__ConnectionString"] = _azurite.ConnectionString;
            start.Environment["Okap__Azure__TablePrefix"] = "bench";
            start.Environment["Okap__PublicUrl"] = Url;
            start.Environment["Okap__Proxy__Providers__openai__BaseUrl"] = fakeUrl + "/v1";
            return start;
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            if (_azurite is not null) await _azurite.DisposeAsync();
            try { Directory.Delete(_app, recursive: true); } catch (IOException) { }
        }
    }
}
