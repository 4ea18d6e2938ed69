using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Okap.Testing;

/// <summary>
/// The built self-hosted server (<c>Okap.Server.dll</c>) as a process of its own, as an operator runs it
/// (<c>dotnet Okap.Server.dll</c>), configured by environment variables, on a free 127.0.0.1 port; its console output is
/// kept. Stop it as a platform would: <see cref="StopAsync"/> (SIGTERM, a clean shutdown) or <see cref="Kill"/> (SIGKILL
/// of the whole process tree: no shutdown code runs).
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    /// <summary>Root URL, <c>http://127.0.0.1:{port}</c> (also its <c>Okap:PublicUrl</c>).</summary>
    public string Url { get; }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <paramref name="serverDll"/> with <paramref name="environment"/> (on top of the test's own) in its folder and
    /// waits until it answers <c>/okap/health</c>. Console logs are single lines.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(string serverDll, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(serverDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(serverDll);
        start.Environment["Kestrel__Endpoints__Http__Url"] = url;
        start.Environment["Okap__PublicUrl"] = url;
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        start.Environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        foreach (var (name, value) in environment) start.Environment[name] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var server = new ServerProcess(process, url);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (server._output) server._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (server._output) server._output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"Okap.Server exited with {process.ExitCode} before serving:\n{server.Output}");
            try
            {
                if ((await http.GetAsync(url + "/okap/health").ConfigureAwait(false)).StatusCode == HttpStatusCode.OK) return server;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200).ConfigureAwait(false);
        }
        await server.DisposeAsync().ConfigureAwait(false);
        throw new TimeoutException($"Okap.Server did not serve /okap/health within {timeout}:\n{server.Output}");
    }

    /// <summary>kill -9: the process and its children end at once, without running any shutdown code.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>A clean stop (SIGTERM, as systemd or a container runtime sends): the server flushes and returns its leases.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited) return;
        using (var term = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } }))
        {
            term?.WaitForExit();
        }
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _process.Dispose();
    }
}
