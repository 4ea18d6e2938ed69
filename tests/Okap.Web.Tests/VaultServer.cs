using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core.Accounts;
using Okap.Core.Keys;
using Okap.Storage.Azure;
using Okap.Storage.Azure.KeyVault;
using Okap.Testing;

namespace Okap.Web.Tests;

/// <summary>
/// The self-hosted server (<c>Okap.Server</c>'s <c>Program</c>) on a real loopback socket, with its own SQLite data
/// folder, or, when <c>OKAP_TEST_STORE=azure</c>, on Azurite tables (own table prefix) and the Key Vault fake, so a
/// real browser can load the page and a real HTTP client can make OKAP requests: every page test runs on both stores.
/// </summary>
public sealed class VaultServer : IAsyncDisposable
{
    public static readonly bool OnAzure = string.Equals(Environment.GetEnvironmentVariable("OKAP_TEST_STORE"), "azure", StringComparison.OrdinalIgnoreCase);

    private static readonly Lazy<Task<AzuriteProcess>> SharedAzurite = new(async () =>
    {
        var azurite = await AzuriteProcess.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => azurite.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return azurite;
    });

    private readonly Factory _factory;
    private readonly string _dataDirectory;

    private VaultServer(Factory factory, string url, string dataDirectory)
    {
        _factory = factory;
        Url = url;
        _dataDirectory = dataDirectory;
    }

    /// <summary>Root URL, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
    public string Url { get; }

    public IServiceProvider Services => _factory.Services;

    public static VaultServer Start(IDictionary<string, string?>? extra = null)
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        var data = Path.Combine(Path.GetTempPath(), "okap-web-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(data);
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Endpoints:Http:Url"] = url,
            ["Okap:PublicUrl"] = url,
            ["Okap:Store"] = "Sqlite",
            ["Okap:Sqlite:DataDirectory"] = data,
            ["Okap:DecisionWait"] = "00:01:30",
            ["Okap:DecisionPollInterval"] = "00:00:00.100",
            ["Okap:Http:PublicRequestsPerMinute"] = "10000",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Microsoft"] = "Warning",
        };
        if (OnAzure)
        {
            settings["Okap:Store"] = "Azure";
            settings["Okap:Azure:ConnectionString"] = SharedAzurite.Value.GetAwaiter().GetResult().ConnectionString;
            settings["Okap:Azure:TablePrefix"] = "t" + Guid.NewGuid().ToString("N")[..12];
            settings["Okap:Azure:KeyVaultUri"] = FakeKeyVault.VaultUri; // the store switch wants one; a fake stands in (below)
        }
        if (extra is not null) foreach (var (k, v) in extra) settings[k] = v;
        var factory = new Factory(settings);
        factory.UseKestrel();
        factory.StartServer();
        return new VaultServer(factory, url, data);
    }

    /// <summary>A fresh one-time setup secret, as the server prints it at start-up.</summary>
    public async Task<string> SetupTokenAsync() =>
        await Services.GetRequiredService<AccountService>().IssueSetupTokenAsync(CancellationToken.None)
        ?? throw new InvalidOperationException("an account exists already");

    /// <summary>Creates the owner account through the API and returns an admin client signed in as it.</summary>
    public async Task<AdminClient> CreateOwnerAsync(string user = "alice", string password = "correct horse battery")
    {
        var admin = new AdminClient(Url);
        using (var response = await admin.Http.PostAsJsonAsync("/okap/account/setup",
            new { setup_token = await SetupTokenAsync(), user_name = user, password }))
        {
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        await admin.RefreshCsrfAsync();
        return admin;
    }

    /// <summary>A client the way an app talks to the vault: no cookies.</summary>
    public HttpClient AppClient() => new() { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromMinutes(3) };

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class Factory(Dictionary<string, string?> settings) : WebApplicationFactory<Program>
    {
        private readonly FakeKeyVault _keyVault = new();

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            foreach (var (k, v) in settings) builder.UseSetting(k, v);
            builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(settings));
            if (OnAzure)
            {
                builder.ConfigureTestServices(services => services.AddSingleton<ISecretStore>(_ =>
                {
                    var options = new AzureStorageOptions { ConnectionString = "unused", KeyVaultUri = FakeKeyVault.VaultUri };
                    return new KeyVaultSecretStore(_keyVault.CreateClient(KeyVaultSecretStore.CreateClientOptions(options)), options);
                }));
            }
        }
    }
}

/// <summary>The owner's admin API with a cookie session and the anti-forgery header, for arranging test data.</summary>
public sealed class AdminClient : IDisposable
{
    public AdminClient(string url)
    {
        Http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true }) { BaseAddress = new Uri(url) };
    }

    public HttpClient Http { get; }

    public async Task RefreshCsrfAsync()
    {
        var session = await Http.GetFromJsonAsync<JsonObject>("/okap/account/session");
        Http.DefaultRequestHeaders.Remove("X-CSRF-TOKEN");
        Http.DefaultRequestHeaders.Add("X-CSRF-TOKEN", session!["csrf_token"]!.GetValue<string>());
    }

    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path} → {(int)response.StatusCode}: {text}");
        return string.IsNullOrEmpty(text) ? null : JsonNode.Parse(text);
    }

    public Task<JsonNode?> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public void Dispose() => Http.Dispose();
}

public static class JsonExtensions
{
    public static readonly JsonSerializerOptions Snake = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
