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
/// The vault's one test host (<see cref="VaultFactory"/>) on a real loopback socket, with its own SQLite data folder,
/// or, when <c>OKAP_TEST_STORE=azure</c>, on Azurite tables (own table prefix) and the Key Vault fake, so a real
/// browser can load the page and a real HTTP client can make OKAP requests: every page test runs on both stores.
/// </summary>
public sealed class VaultServer : IAsyncDisposable
{
    public static bool OnAzure => VaultFactory.OnAzure;

    private readonly VaultFactory _factory;

    private VaultServer(VaultFactory factory, string url)
    {
        _factory = factory;
        Url = url;
    }

    /// <summary>Root URL, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
    public string Url { get; }

    public IServiceProvider Services => _factory.Services;

    public static VaultServer Start(IDictionary<string, string?>? extra = null)
    {
        var factory = new VaultFactory { EnvironmentName = "Development" };
        // As a person runs it: registration closed (the setup link creates the owner), a real decision wait.
        factory.Settings["Okap:Auth:AllowRegistration"] = "false";
        factory.Settings["Okap:DecisionWait"] = "00:01:30";
        factory.Settings["Okap:DecisionPollInterval"] = "00:00:00.100";
        factory.Settings["Logging:LogLevel:Default"] = "Warning";
        factory.Settings["Logging:LogLevel:Microsoft"] = "Warning";
        if (extra is not null) foreach (var (k, v) in extra) factory.Settings[k] = v;
        return new VaultServer(factory, factory.StartOnLoopback());
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

    public async ValueTask DisposeAsync() => await _factory.DisposeAsync();
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
