using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Okap.Core.Keys;
using Okap.Storage.Azure;
using Okap.Storage.Azure.KeyVault;
using Okap.Testing;

namespace Okap.Testing;

/// <summary>
/// The self-hosted server with captured logs and optional fake time, on a temporary SQLite data folder, or, when
/// <c>OKAP_TEST_STORE=azure</c>, on Azurite tables (own table prefix) and the Key Vault fake: the whole behaviour
/// suite runs unchanged on both stores.
/// </summary>
public class VaultFactory : WebApplicationFactory<Program>
{
    public static readonly bool OnAzure = string.Equals(Environment.GetEnvironmentVariable("OKAP_TEST_STORE"), "azure", StringComparison.OrdinalIgnoreCase);

    private static readonly Lazy<Task<AzuriteProcess>> SharedAzurite = new(async () =>
    {
        var azurite = await AzuriteProcess.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => azurite.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return azurite;
    });

    /// <summary>An Azurite of the test's own (to stop and start it); null uses the one shared by the test run.</summary>
    public AzuriteProcess? OwnAzurite { get; init; }

    private readonly string _tablePrefix = "t" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Prefix of this vault's tables on Azurite (each factory has its own).</summary>
    public string TablePrefix => _tablePrefix;
    private readonly FakeKeyVault _keyVault = new();

    /// <summary>The Key Vault fake behind the secret store on Azure (OKAP_TEST_STORE=azure).</summary>
    public FakeKeyVault KeyVault => _keyVault;
    private readonly bool _ownsData = true;
    private string? _azuriteConnection;

    public VaultFactory()
    {
    }

    /// <summary>
    /// Another instance of the vault of <paramref name="first"/>: its own process state (DI container, ledger, caches),
    /// the same store (SQLite file, or Azurite tables and Key Vault fake), as the instances of a scaled-out app share one.
    /// </summary>
    public VaultFactory(VaultFactory first)
    {
        ArgumentNullException.ThrowIfNull(first);
        _tablePrefix = first._tablePrefix;
        _keyVault = first._keyVault;
        DataDirectory = first.DataDirectory;
        OwnAzurite = first.OwnAzurite;
        _ownsData = false;
    }

    public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "okap-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>Faults to inject into this instance's usage store (lost replies, a dead store); null injects none.</summary>
    public UsageStoreFaults? UsageFaults { get; init; }
    public LogCapture Logs { get; } = new();
    /// <summary>The host environment the server starts in.</summary>
    public string EnvironmentName { get; init; } = "Testing";

    /// <summary>The vault's clock (set before its first use); null runs it on the system clock.</summary>
    public FakeTimeProvider? Time { get; set; }

    /// <summary>Extra service registrations (after the server's own).</summary>
    public Action<IServiceCollection>? TestServices { get; init; }
    public Dictionary<string, string?> Settings { get; } = new()
    {
        ["Okap:PublicUrl"] = "http://localhost",
        ["Okap:Auth:AllowRegistration"] = "true",
        ["Okap:DecisionWait"] = "00:00:00",
        ["Okap:DecisionPollInterval"] = "00:00:00.050",
        ["Okap:Http:PublicRequestsPerMinute"] = "10000",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(EnvironmentName);
        builder.UseSetting("Okap:Sqlite:DataDirectory", DataDirectory);
        if (OnAzure)
        {
            _azuriteConnection = (OwnAzurite ?? SharedAzurite.Value.GetAwaiter().GetResult()).ConnectionString;
            builder.UseSetting("Okap:Store", "Azure");
            builder.UseSetting("Okap:Azure:ConnectionString", _azuriteConnection);
            builder.UseSetting("Okap:Azure:TablePrefix", _tablePrefix);
            // The store switch wants a Key Vault; the fake below stands in for it.
            builder.UseSetting("Okap:Azure:KeyVaultUri", FakeKeyVault.VaultUri);
            builder.ConfigureTestServices(services => services.AddSingleton<ISecretStore>(_ =>
            {
                var options = new AzureStorageOptions { ConnectionString = "unused", KeyVaultUri = FakeKeyVault.VaultUri };
                return new KeyVaultSecretStore(_keyVault.CreateClient(KeyVaultSecretStore.CreateClientOptions(options)), options);
            }));
        }
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddProvider(Logs);
        });
        if (Time is not null) builder.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(Time));
        if (TestServices is not null) builder.ConfigureTestServices(TestServices);
        if (UsageFaults is { } faults) builder.ConfigureTestServices(services => FaultyUsageStore.Wrap(services, faults));
        // The in-memory test server leaves the client address empty; Kestrel always has one.
        builder.ConfigureTestServices(services => services.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter, Okap.Testing.LoopbackClientAddress>());
    }

    private bool _kestrel;

    /// <summary>Serves over real sockets (Kestrel on a free 127.0.0.1 port) instead of the in-memory test server.</summary>
    public void UseLoopbackKestrel()
    {
        _kestrel = true;
        // The server's appsettings.json binds :5080.
        Settings["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0";
        UseKestrel();
    }

    /// <summary>A client on the given host (the vault resolves per-person addresses from it), keeping cookies; with Kestrel, on its loopback address.</summary>
    public HttpClient ClientFor(string host = "localhost")
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = _kestrel ? KestrelAddress() : new Uri($"http://{host}"), AllowAutoRedirect = false, HandleCookies = true });
        return client;
    }

    private Uri KestrelAddress()
    {
        StartServer();
        var addresses = Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.First());
    }

    /// <summary>Registers an account and returns a signed-in client with its anti-forgery header set.</summary>
    public async Task<HttpClient> SignUpAsync(string userName, string host = "localhost")
    {
        var client = ClientFor(host);
        var created = await client.PostAsJsonAsync("/okap/account/setup", new { user_name = userName, password = "correct horse battery" });
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        await ArmCsrfAsync(client);
        return client;
    }

    public static Task ArmCsrfAsync(HttpClient client) => VaultUnderTest.ArmCsrfAsync(client);

    /// <summary>
    /// Starts the server on a real loopback socket (Kestrel, not the in-memory test server) with <c>Okap:PublicUrl</c>
    /// set to it, so clients talk to it over HTTP as to any other host. Returns the root URL.
    /// </summary>
    public string StartOnLoopback()
    {
        var url = $"http://127.0.0.1:{FreePort()}";
        Settings["Kestrel:Endpoints:Http:Url"] = url;
        Settings["Okap:PublicUrl"] = url;
        UseKestrel();
        StartServer();
        return url;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Everything stored: every byte of the SQLite database and its write-ahead log, or every Azurite entity and Key Vault secret as text.</summary>
    public byte[] DatabaseBytes()
    {
        if (OnAzure) return System.Text.Encoding.UTF8.GetBytes(AzuriteProcess.TablesText(_azuriteConnection!, _tablePrefix));
        var bytes = new List<byte>();
        foreach (var file in Directory.GetFiles(DataDirectory, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            bytes.AddRange(copy.ToArray());
        }
        return bytes.ToArray();
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!_ownsData) return;
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Collects every log line the server writes, with exception texts.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public string All => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose() { }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}

/// <summary>A test that needs Azure Table Storage: it runs in the suite's Azurite pass (OKAP_TEST_STORE=azure) and is reported skipped in the SQLite pass.</summary>
public sealed class AzureStoreFactAttribute : FactAttribute
{
    public AzureStoreFactAttribute()
    {
        if (!VaultFactory.OnAzure) Skip = "needs Azure Table Storage: runs in the OKAP_TEST_STORE=azure pass of this suite";
    }
}

