using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Okap.Bench;

/// <summary>Child processes, their memory, and the two load shapes (closed and open loop) every phase uses.</summary>
internal static class Load
{
    public static string? Arg(string name)
    {
        var args = Environment.GetCommandLineArgs();
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Starts this program in another role, with extra environment variables and optionally another runtimeconfig.json.</summary>
    /// <remarks><paramref name="assembly"/> runs another build of this program (a ReadyToRun publish) in that role.</remarks>
    public static Process StartChild(string arguments, IReadOnlyDictionary<string, string>? environment = null, string? runtimeConfig = null, string? assembly = null)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!, arguments) { RedirectStandardOutput = true, UseShellExecute = false };
        if (environment is not null) foreach (var (key, value) in environment) psi.Environment[key] = value;
        var entry = assembly ?? System.Reflection.Assembly.GetEntryAssembly()!.Location;
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            psi.Arguments = runtimeConfig is null ? $"\"{entry}\" {arguments}" : $"exec --runtimeconfig \"{runtimeConfig}\" \"{entry}\" {arguments}";
        else if (runtimeConfig is not null)
            throw new InvalidOperationException("runtimeconfig overrides need the bench started as `dotnet Okap.Bench.dll`");
        return Process.Start(psi)!;
    }

    public static async Task<string> ReadUrlAsync(Process p)
    {
        while (await p.StandardOutput.ReadLineAsync() is { } line)
            if (line.StartsWith("URL ", StringComparison.Ordinal)) return line[4..];
        throw new InvalidOperationException("child exited");
    }

    public static (long RssKb, long PeakKb) Memory(int pid)
    {
        long rss = 0, hwm = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:")) rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            if (line.StartsWith("VmHWM:")) hwm = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        return (rss, hwm);
    }

    public static async Task<Stats> ClosedLoopAsync(HttpClient http, Target target, byte[] body, int concurrency, TimeSpan duration)
    {
        var samples = new List<double>[concurrency];
        var errors = 0;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async w =>
        {
            var list = samples[w] = new List<double>(100_000);
            while (sw.Elapsed < duration)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    using var res = await http.SendAsync(target.Request(body));
                    await res.Content.CopyToAsync(Stream.Null);
                    if (res.StatusCode != HttpStatusCode.OK) Interlocked.Increment(ref errors);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { Interlocked.Increment(ref errors); } // refused, reset or timed out
                list.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        return Stats.From(samples.SelectMany(x => x).ToArray(), sw.Elapsed, errors);
    }

    public static async Task<Stats> OpenLoopAsync(HttpClient http, Target target, byte[] body, int rate, TimeSpan duration)
    {
        var total = (int)(rate * duration.TotalSeconds);
        var samples = new double[total];
        var errors = 0;
        var tasks = new Task[total];
        var start = Stopwatch.GetTimestamp();
        var interval = Stopwatch.Frequency / (double)rate;
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i * interval);
            // No spinning (it would take a core from the servers): sleep ~1 ms, then send everything that has fallen due.
            while (Stopwatch.GetTimestamp() < due) await Task.Delay(1);
            var index = i;
            tasks[i] = Task.Run(async () =>
            {
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    using var res = await http.SendAsync(target.Request(body));
                    await res.Content.CopyToAsync(Stream.Null);
                    if (res.StatusCode != HttpStatusCode.OK) Interlocked.Increment(ref errors);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { Interlocked.Increment(ref errors); } // refused, reset or timed out
                samples[index] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
            });
        }
        await Task.WhenAll(tasks);
        return Stats.From(samples, Stopwatch.GetElapsedTime(start), errors);
    }
}
