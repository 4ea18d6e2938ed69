using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc.Testing;
using Okap.Testing;

namespace Okap.Cli.Tests;

/// <summary>The vault's one test host (<see cref="VaultFactory"/>, in memory on SQLite) with one owner and a personal access key.</summary>
public sealed class CliVault : VaultFactory
{
    public const string Url = "http://localhost";
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _pollUrls = new();

    /// <summary>The owner's personal access key (okap_pat_…).</summary>
    public string AccessKey { get; private set; } = "";

    /// <summary>A signed-in browser-style client (cookie + X-CSRF-TOKEN) of the owner.</summary>
    public HttpClient Owner { get; private set; } = null!;

    public static async Task<CliVault> StartAsync()
    {
        var vault = new CliVault();
        vault.Owner = await vault.SignUpAsync("owner");
        var key = await vault.Owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "cli tests", scopes = new[] { "read", "approve", "keys" } });
        key.EnsureSuccessStatusCode();
        vault.AccessKey = (await key.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
        Assert.StartsWith("okap_pat_", vault.AccessKey);
        return vault;
    }

    /// <summary>An app asks for access in the specification shape; returns the request id.</summary>
    public async Task<string> AuthorizeAsync(string app = "Example App", params string[] providers)
    {
        var body = new
        {
            okap = "1.0",
            authorization_details = (providers.Length == 0 ? ["openai"] : providers).Select(p => new
            {
                type = "ai_model_access",
                provider = p,
                models = p == "openai" ? new[] { "gpt-4", "gpt-4o-mini" } : [],
                capabilities = new[] { "chat", "embeddings" },
                limits = new { monthly_spend = 10.00, daily_spend = 1.00, requests_per_minute = 60, requests_per_day = 1000 },
                reason = "human-readable",
            }).ToArray(),
            client = new { name = app, url = "https://app.example.com", callback = "https://app.example.com/callback" },
        };
        using var client = CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri(Url) });
        var reply = await client.PostAsJsonAsync("/okap/authorize", body);
        Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
        var pending = (await reply.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = pending["request_id"]!.GetValue<string>();
        _pollUrls[id] = new Uri(pending["poll_url"]!.GetValue<string>()).PathAndQuery;
        return id;
    }

    /// <summary>The app polls its approved request and so collects its token.</summary>
    public async Task ClaimAsync(string requestId)
    {
        using var client = CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri(Url) });
        var reply = await client.GetAsync(_pollUrls[requestId]);
        Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync());
    }

    /// <summary>Runs <c>okap</c> in memory against this vault, with the environment given (vault URL and key by default).</summary>
    public async Task<CliRun> RunAsync(string[] args, string stdin = "", Dictionary<string, string?>? environment = null, HttpMessageHandler? handler = null)
    {
        environment ??= new() { [CliApp.VaultUrlVariable] = Url, [CliApp.AccessKeyVariable] = AccessKey };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await CliApp.RunAsync(args, stdout, stderr, new StringReader(stdin), handler ?? Server.CreateHandler(), name => environment.GetValueOrDefault(name));
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Owner?.Dispose();
    }
}

public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public JsonNode Json => JsonNode.Parse(Stdout)!;

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}
