using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>
/// The built Functions app running under the real Azure Functions host, as <c>func start</c> runs it: Core Tools'
/// <c>func</c> when it is on PATH, else <c>../shared/functions-host/func-start.sh</c> beside the repository (the host
/// built from source on machines where Core Tools cannot be installed). Settings come from the app folder's
/// <c>local.settings.json</c>, overridden by environment variables, as with <c>func</c>.
/// </summary>
public sealed class FunctionsHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private FunctionsHost(Process process, int port, string launcher)
    {
        _process = process;
        Port = port;
        Launcher = launcher;
        Url = $"http://127.0.0.1:{port}";
    }

    public int Port { get; }

    /// <summary>Root URL, <c>http://127.0.0.1:{port}</c>.</summary>
    public string Url { get; }

    /// <summary>What started the host (<c>func</c> or the script's path).</summary>
    public string Launcher { get; }

    /// <summary>Everything the host wrote (its own logs and, as <c>Host.Function.Console</c>, the worker's console).</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>
    /// <c>OKAP_FUNCTIONS_HOST_SCRIPT</c> when set, else <c>shared/functions-host/func-start.sh</c> beside the repository
    /// (CI: <c>../shared</c> next to the clone) or beside one of its parent folders (a git worktree nested deeper).
    /// </summary>
    public static string ScriptPath { get; } = FindScript();

    private static string FindScript()
    {
        if (Environment.GetEnvironmentVariable("OKAP_FUNCTIONS_HOST_SCRIPT") is { Length: > 0 } configured) return Path.GetFullPath(configured);
        var relative = Path.Combine("shared", "functions-host", "func-start.sh");
        for (var dir = Directory.GetParent(FunctionsMetadata.RepositoryRoot); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        }
        return Path.GetFullPath(Path.Combine(FunctionsMetadata.RepositoryRoot, "..", relative));
    }

    /// <summary>Null when the host can run here; otherwise why not (the tests under the host then report skipped).</summary>
    public static string? UnavailableReason =>
        FuncOnPath() is not null || File.Exists(ScriptPath)
            ? null
            : $"no Azure Functions host here: neither Core Tools' func is on PATH nor {ScriptPath} exists";

    private static string? FuncOnPath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "func")).FirstOrDefault(File.Exists);

    /// <summary>Starts the host on a free loopback port for <paramref name="appDirectory"/> and waits until it serves <c>/okap/health</c>.</summary>
    public static async Task<FunctionsHost> StartAsync(string appDirectory, IReadOnlyDictionary<string, string> environment, int port, TimeSpan timeout)
    {
        var func = FuncOnPath();
        ProcessStartInfo start;
        if (func is not null)
        {
            start = new ProcessStartInfo(func) { WorkingDirectory = appDirectory };
            foreach (var arg in new[] { "start", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) }) start.ArgumentList.Add(arg);
        }
        else
        {
            start = new ProcessStartInfo("bash") { WorkingDirectory = appDirectory };
            foreach (var arg in new[] { ScriptPath, appDirectory, port.ToString(System.Globalization.CultureInfo.InvariantCulture) }) start.ArgumentList.Add(arg);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        foreach (var (name, value) in environment) start.Environment[name] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the Functions host");
        var host = new FunctionsHost(process, port, func ?? ScriptPath);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (host._output) host._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (host._output) host._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The Functions host exited with {process.ExitCode} before serving:\n{host.Output}");
            }
            try
            {
                if ((await http.GetAsync(host.Url + "/okap/health")).StatusCode == HttpStatusCode.OK) return host;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(250);
        }
        await host.DisposeAsync();
        throw new TimeoutException($"The Functions host did not serve /okap/health within {timeout}:\n{host.Output}");
    }

    /// <summary>Waits until the output contains <paramref name="text"/>.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> found, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!found(Output))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The Functions host did not print what was expected:\n{Output}");
            await Task.Delay(100);
        }
        return Output;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the host (SIGTERM, as Ctrl+C stops func) and, if it lingers, its whole process tree. Once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            try
            {
                using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
                kill?.WaitForExit();
            }
            catch (System.ComponentModel.Win32Exception) { }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException) { }
        }
        // The worker is the host's child; make sure neither outlives the tests.
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
