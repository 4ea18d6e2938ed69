using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Okap.Storage.Azure;
using Okap.Storage.Azure.Tables;

namespace Okap.Testing;

/// <summary>
/// One Azurite process (pinned in <c>tests/azurite/package-lock.json</c>), started by the tests themselves on free
/// ports: the Table service alone, or (<see cref="StartAllServicesAsync"/>) Blob, Queue and Table for an Azure
/// Functions host, which keeps its leases and keys in blobs. In memory, or on disk in a folder so it can be stopped
/// and started again.
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>The well-known Azurite development account key (public; not a secret).</summary>
    public const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string? _location;
    private Process? _process;
    private readonly StringBuilder _output = new();

    private AzuriteProcess(int port, string? location, (int Blob, int Queue)? otherPorts = null)
    {
        Port = port;
        _location = location;
        _otherPorts = otherPorts;
    }

    private readonly (int Blob, int Queue)? _otherPorts;

    /// <summary>The Table service's port.</summary>
    public int Port { get; }

    /// <summary>Table endpoint only (the vault's stores).</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    /// <summary>Blob, Queue and Table endpoints, for <c>AzureWebJobsStorage</c>; only from <see cref="StartAllServicesAsync"/>.</summary>
    public string AllServicesConnectionString => _otherPorts is { } other
        ? $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};BlobEndpoint=http://127.0.0.1:{other.Blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{other.Queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;"
        : throw new InvalidOperationException("This Azurite runs the Table service only.");

    /// <summary>Starts Azurite's Blob, Queue and Table services in memory, each on a free port.</summary>
    public static async Task<AzuriteProcess> StartAllServicesAsync()
    {
        await EnsureInstalledAsync().ConfigureAwait(false);
        var azurite = new AzuriteProcess(FreePort(), null, (FreePort(), FreePort()));
        await azurite.StartAsync().ConfigureAwait(false);
        return azurite;
    }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts Azurite; <paramref name="location"/> null keeps everything in memory.</summary>
    public static async Task<AzuriteProcess> StartAsync(string? location = null, int? port = null)
    {
        await EnsureInstalledAsync().ConfigureAwait(false);
        var azurite = new AzuriteProcess(port ?? FreePort(), location);
        await azurite.StartAsync().ConfigureAwait(false);
        return azurite;
    }

    /// <summary>Starts the stopped process again on the same port and folder.</summary>
    public async Task StartAsync()
    {
        if (IsRunning) return;
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        string[] args = _otherPorts is { } other
            ? [Path.Combine("node_modules", ".bin", "azurite"), "--blobHost", "127.0.0.1", "--blobPort", other.Blob.ToString(invariant),
               "--queueHost", "127.0.0.1", "--queuePort", other.Queue.ToString(invariant), "--tableHost", "127.0.0.1", "--tablePort", Port.ToString(invariant)]
            : [Path.Combine("node_modules", ".bin", "azurite-table"), "--tableHost", "127.0.0.1", "--tablePort", Port.ToString(invariant)];
        foreach (var arg in args.Concat(["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]))
        {
            start.ArgumentList.Add(arg);
        }
        if (_location is null)
        {
            start.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            start.ArgumentList.Add("--location");
            start.ArgumentList.Add(_location);
        }
        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with {_process.ExitCode}: {Output}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
        throw new TimeoutException($"Azurite did not accept connections on port {Port}: {Output}");
    }

    /// <summary>Stops gracefully (SIGINT: the signal Azurite handles by saving its database and closing) and waits for the exit.</summary>
    public async Task StopAsync()
    {
        var process = _process;
        if (process is null) return;
        _process = null;
        if (!process.HasExited)
        {
            if (OperatingSystem.IsWindows() || Kill(process.Id, 2) != 0)
            {
                process.Kill(entireProcessTree: true);
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().ConfigureAwait(false);
            }
        }
        process.Dispose();
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Stores on this Azurite with a fresh table prefix, tables created.</summary>
    public async Task<AzureTableVaultStores> CreateStoresAsync(Action<AzureStorageOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new AzureStorageOptions
        {
            ConnectionString = ConnectionString,
            TablePrefix = "t" + Guid.NewGuid().ToString("N")[..12],
            TableMaxRetries = 1,
            TableRetryDelay = TimeSpan.FromMilliseconds(50),
            TableNetworkTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        var stores = AzureTableVaultStores.Create(options, time: time);
        await stores.InitializeAsync(CancellationToken.None).ConfigureAwait(false);
        return stores;
    }

    /// <summary>Every entity of every table whose name starts with <paramref name="tablePrefix"/>, as <c>name=value</c> lines.</summary>
    public static string TablesText(string connectionString, string tablePrefix)
    {
        var text = new StringBuilder();
        var service = new Azure.Data.Tables.TableServiceClient(connectionString);
        foreach (var table in service.Query(t => t.Name.CompareTo(tablePrefix) >= 0))
        {
            if (!table.Name.StartsWith(tablePrefix, StringComparison.Ordinal)) continue;
            foreach (var entity in service.GetTableClient(table.Name).Query<Azure.Data.Tables.TableEntity>())
            {
                foreach (var (key, value) in entity) text.Append(key).Append('=').Append(value).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary><c>tests/azurite</c>, found from the test assembly's folder upwards.</summary>
    public static string Folder => NodePackages.Folder("azurite");

    /// <summary>Runs <c>npm ci</c> (the locked Azurite version) when node_modules is missing.</summary>
    public static Task EnsureInstalledAsync() =>
        NodePackages.EnsureInstalledAsync(Folder, Path.Combine("node_modules", ".bin", "azurite-table"));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Sends a POSIX signal with the <c>kill</c> command; returns its exit code.</summary>
    private static int Kill(int pid, int signal)
    {
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-" + signal.ToString(System.Globalization.CultureInfo.InvariantCulture), pid.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
            if (kill is null) return -1;
            kill.WaitForExit();
            return kill.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}

