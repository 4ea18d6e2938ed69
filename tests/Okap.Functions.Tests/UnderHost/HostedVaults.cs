using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Okap.Testing;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>
/// What the tests under the real Functions host share, started once per test run: one Azurite (Blob, Queue and
/// Table: the host keeps leases and keys in blobs), one fake AI provider, the built app (built here when missing),
/// and two hosts on it:
/// <list type="bullet">
/// <item><see cref="Sample"/>: <c>local.settings.sample.json</c> exactly as shipped (single owner, registration closed,
/// Table Storage on Azurite, provider keys with the Data Protection secret store); the tests override only
/// the addresses (Azurite's and the host's ports, the fake provider) and make the bounded wait 4 s and the public
/// rate limit loose enough for a test run.</item>
/// <item><see cref="Platform"/>: the same with App Service Authentication trusted
/// (<c>Okap:Auth:TrustAppServicePrincipal=true</c>) and per-person host names under <c>vault.test</c>.</item>
/// </list>
/// </summary>
public sealed class HostedVaults : IAsyncLifetime
{
    public const string Password = "correct horse battery";
    public const string MasterKey = "sk-hosted-master-key-7k2q";

    private static readonly string Configuration = typeof(HostedVaults).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Configuration").Value!;

    private AzuriteProcess? _azurite;
    private string? _appCopy;
    private readonly object _ownerLock = new();
    private Task<HttpClient>? _owner;

    public FakeProvider Fake { get; } = new();
    public FunctionsHost Sample { get; private set; } = null!;
    public FunctionsHost Platform { get; private set; } = null!;

    /// <summary>The setup link the sample host printed, once <see cref="OwnerAsync"/> has used it.</summary>
    public string? SetupLink { get; private set; }

    public async Task InitializeAsync()
    {
        if (FunctionsHost.UnavailableReason is not null) return; // every test here is skipped with that reason
        var app = await BuiltAppAsync();
        // A copy, so the shipped sample is the app folder's local.settings.json as `cp` in docs/functions.md makes it.
        _appCopy = Path.Combine(Path.GetTempPath(), "okap-functions-" + Guid.NewGuid().ToString("N")[..8]);
        CopyDirectory(app, _appCopy);
        File.Copy(Path.Combine(FunctionsMetadata.RepositoryRoot, "local.settings.sample.json"), Path.Combine(_appCopy, "local.settings.json"));

        var azuriteStart = AzuriteProcess.StartAllServicesAsync();
        await Task.WhenAll(azuriteStart, Fake.StartAsync());
        _azurite = await azuriteStart;

        var samplePort = FunctionsHost.FreePort();
        var platformPort = FunctionsHost.FreePort();
        var sample = FunctionsHost.StartAsync(_appCopy, Common(samplePort, "sample"), samplePort, TimeSpan.FromMinutes(2));
        var platform = FunctionsHost.StartAsync(_appCopy, new Dictionary<string, string>(Common(platformPort, "platform"))
        {
            ["Okap__Auth__TrustAppServicePrincipal"] = "true",
            ["Okap__Auth__AllowRegistration"] = "true",
            ["Okap__Addressing__BaseDomain"] = "vault.test",
        }, platformPort, TimeSpan.FromMinutes(2));
        try
        {
            await Task.WhenAll(sample, platform);
        }
        finally
        {
            if (sample.IsCompletedSuccessfully) Sample = sample.Result;
            if (platform.IsCompletedSuccessfully) Platform = platform.Result;
        }
    }

    private Dictionary<string, string> Common(int port, string name) => new()
    {
        ["AzureWebJobsStorage"] = _azurite!.AllServicesConnectionString,
        // Two hosts share one storage account: distinct host ids keep their leases apart.
        ["AzureFunctionsWebHost__hostid"] = "okap-tests-" + name,
        ["Okap__Azure__ConnectionString"] = _azurite.ConnectionString,
        ["Okap__Azure__TablePrefix"] = name,
        ["Okap__PublicUrl"] = $"http://127.0.0.1:{port}",
        ["Okap__Proxy__Providers__openai__BaseUrl"] = Fake.Url + "/openai/v1",
        ["Okap__Proxy__FlushInterval"] = "00:00:00.500",
        ["Okap__DecisionWait"] = "00:00:04",
        ["Okap__DecisionPollInterval"] = "00:00:00.100",
        ["Okap__Http__PublicRequestsPerMinute"] = "2000",
    };

    /// <summary><c>src/Okap.Functions/bin/{Configuration}/net10.0</c>, built with <c>dotnet build</c> first when it is not there.</summary>
    private static async Task<string> BuiltAppAsync()
    {
        var project = Path.Combine(FunctionsMetadata.RepositoryRoot, "src", "Okap.Functions");
        var output = Path.Combine(project, "bin", Configuration, "net10.0");
        if (File.Exists(Path.Combine(output, "functions.metadata")) && File.Exists(Path.Combine(output, "Okap.Functions.dll"))) return output;
        var build = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "build", project, "-c", Configuration, "-nologo", "-v:q" }) build.ArgumentList.Add(arg);
        using var process = Process.Start(build) ?? throw new InvalidOperationException("could not start dotnet build");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"dotnet build {project} failed:\n{await stdout}{await stderr}");
        return output;
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == "local.settings.json") continue; // a developer's own settings stay out of the test
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }

    /// <summary>A client of <paramref name="host"/> over real HTTP, keeping its own cookies; <paramref name="hostName"/> sets the Host header.</summary>
    public static HttpClient Client(FunctionsHost host, string? hostName = null)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = new Uri(host.Url),
            Timeout = TimeSpan.FromSeconds(60),
        };
        if (hostName is not null) client.DefaultRequestHeaders.Host = hostName;
        return client;
    }

    /// <summary>
    /// The sample host's one owner, created the way a person does it: with the one-time setup link the vault printed to
    /// the console (under the host: category <c>Host.Function.Console</c>). Signed in, anti-forgery header set.
    /// </summary>
    public Task<HttpClient> OwnerAsync()
    {
        // Made once; a failure is kept too, so the other tests fail at once with the same reason.
        lock (_ownerLock) return _owner ??= CreateOwnerAsync();
    }

    private async Task<HttpClient> CreateOwnerAsync()
    {
        var output = await Sample.WaitForOutputAsync(o => o.Contains("/#/setup?token=", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var link = Regex.Match(output, @"open (\S+/#/setup\?token=\S+)").Groups[1].Value;
        SetupLink = link;
        var client = Client(Sample);
        var created = await client.PostAsJsonAsync("/okap/account/setup", new { setup_token = link.Split("token=")[1], user_name = "owner", password = Password });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await ArmCsrfAsync(client);
        (await client.PutAsJsonAsync("/okap/admin/keys/openai", new { key = MasterKey })).EnsureSuccessStatusCode();
        return client;
    }

    public static async Task ArmCsrfAsync(HttpClient client)
    {
        var session = await client.GetFromJsonAsync<JsonObject>("/okap/account/session");
        client.DefaultRequestHeaders.Remove("X-CSRF-TOKEN");
        client.DefaultRequestHeaders.Add("X-CSRF-TOKEN", session!["csrf_token"]!.GetValue<string>());
    }

    /// <summary>
    /// A token for a new app on the sample vault, granted at once by an auto-approve policy for that app alone.
    /// Returns the token and its id.
    /// </summary>
    public async Task<(string Token, string TokenId)> TokenAsync(string appName, object? limits = null)
    {
        var owner = await OwnerAsync();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = appName, app_name = appName, providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await Client(Sample).PostAsJsonAsync("/okap/request", HostBodies.Sdk(appName, limits: limits))).JsonAsync();
        Assert.True(granted["approved"]!.GetValue<bool>(), granted.ToJsonString());
        var tokens = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray();
        var tokenId = tokens.Single(t => t!["app_name"]!.GetValue<string>() == appName)!["id"]!.GetValue<string>();
        return (granted["token"]!["token"]!.GetValue<string>(), tokenId);
    }

    /// <summary>The value App Service Authentication puts in <c>X-MS-CLIENT-PRINCIPAL</c> for a signed-in Entra user.</summary>
    public static string Principal(string objectId, string name) => Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject
    {
        ["auth_typ"] = "aad",
        ["claims"] = new JsonArray(
            new JsonObject { ["typ"] = "http://schemas.microsoft.com/identity/claims/objectidentifier", ["val"] = objectId },
            new JsonObject { ["typ"] = "name", ["val"] = name }),
    }.ToJsonString()));

    public async Task DisposeAsync()
    {
        if (Sample is not null) await Sample.DisposeAsync();
        if (Platform is not null) await Platform.DisposeAsync();
        if (_azurite is not null) await _azurite.DisposeAsync();
        await Fake.DisposeAsync();
        if (_appCopy is not null)
        {
            try { Directory.Delete(_appCopy, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>The tests that share <see cref="HostedVaults"/>: one start of the hosts per test run.</summary>
[CollectionDefinition(Name)]
public sealed class UnderHostCollection : ICollectionFixture<HostedVaults>
{
    public const string Name = "under the Functions host";
}

/// <summary>A test against the app under the real Functions host; reported skipped, with the reason, where no host can run.</summary>
public sealed class HostFactAttribute : FactAttribute
{
    public HostFactAttribute()
    {
        if (FunctionsHost.UnavailableReason is { } reason) Skip = reason;
    }
}

/// <summary>Theory form of <see cref="HostFactAttribute"/>.</summary>
public sealed class HostTheoryAttribute : TheoryAttribute
{
    public HostTheoryAttribute()
    {
        if (FunctionsHost.UnavailableReason is { } reason) Skip = reason;
    }
}

/// <summary>Request bodies as the Python SDK and specification clients send them.</summary>
public static class HostBodies
{
    public static object Sdk(string app, object? limits = null, string[]? models = null) => new Dictionary<string, object?>
    {
        ["okap"] = "1.0",
        ["provider"] = "openai",
        ["models"] = models ?? ["gpt-4o-mini", "gpt-4"],
        ["capabilities"] = new[] { "chat" },
        ["limits"] = limits ?? new { monthly_spend = 10.0, requests_per_minute = 600 },
        ["expires"] = DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
        ["reason"] = "For AI-powered features",
        ["app_name"] = app,
        ["app_url"] = "https://app.example.com",
    };

    public static object Spec(string app, params string[] providers) => new
    {
        okap = "1.0",
        authorization_details = (providers.Length == 0 ? ["openai"] : providers).Select(p => new
        {
            type = "ai_model_access",
            provider = p,
            models = p == "openai" ? new[] { "gpt-4" } : [],
            capabilities = new[] { "chat", "embeddings" },
            limits = new { monthly_spend = 10.00, daily_spend = 1.00, requests_per_minute = 60, requests_per_day = 1000 },
            reason = "human-readable",
        }).ToArray(),
        client = new { name = app, url = "https://app.example.com", callback = "https://app.example.com/callback" },
    };

    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public static StringContent Raw(string json, string contentType = "application/json") => new(json, new MediaTypeHeaderValue(contentType));
}
