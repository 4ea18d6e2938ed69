using System.Diagnostics;
using Okap.Functions.Tests.UnderHost;

namespace Okap.Functions.Tests;

/// <summary>
/// The local-only stores are refused where they do not belong, at start-up and with a message that says what to set.
/// Runs the built worker (<c>dotnet Okap.Functions.dll</c>) with the settings and the markers Azure sets on every App
/// Service / Functions instance; the store is chosen before the worker ever talks to a host, so no host is needed.
/// </summary>
public sealed class StoreRefusalTests
{
    private const string LocalOnly = "Okap:Azure:SecretStore=DataProtection is for local runs on Azurite: on Azure the provider keys belong in Key Vault. Set Okap:Azure:SecretStore=KeyVault and Okap:Azure:KeyVaultUri.";

    // A closed port: a worker that gets past the store choice fails later, reaching it, instead.
    private const string Unreachable = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + Okap.Testing.AzuriteProcess.DevAccountKey + ";TableEndpoint=http://127.0.0.1:9/devstoreaccount1;";

    private static async Task<(int ExitCode, string Output)> StartWorkerAsync(IReadOnlyDictionary<string, string> environment)
    {
        var app = await FunctionsPass.BuiltAppAsync();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = app, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(app, "Okap.Functions.dll"));
        // This machine may itself look like an Azure instance (containers set CONTAINER_NAME): only the test's markers count.
        foreach (var marker in new[] { "WEBSITE_INSTANCE_ID", "WEBSITE_OWNER_NAME", "CONTAINER_NAME", "WEBSITE_SITE_NAME" }) start.Environment.Remove(marker);
        start.Environment["Okap__Store"] = "Azure";
        start.Environment["Okap__Azure__ConnectionString"] = Unreachable;
        start.Environment["Okap__Azure__TableMaxRetries"] = "0";
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the worker neither refused nor failed within 60 s:\n" + await stdout + await stderr);
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    [Theory]
    [InlineData("WEBSITE_INSTANCE_ID")]
    [InlineData("WEBSITE_OWNER_NAME")]
    [InlineData("CONTAINER_NAME")]
    public async Task Data_protection_secret_store_is_refused_on_an_azure_instance(string marker)
    {
        var (exitCode, output) = await StartWorkerAsync(new Dictionary<string, string> { ["Okap__Azure__SecretStore"] = "DataProtection", [marker] = "set-by-the-platform" });
        Assert.NotEqual(0, exitCode);
        Assert.Contains(LocalOnly, output);
    }

    [Fact]
    public async Task Data_protection_secret_store_is_refused_beside_a_key_vault()
    {
        var (exitCode, output) = await StartWorkerAsync(new Dictionary<string, string>
        {
            ["Okap__Azure__SecretStore"] = "DataProtection",
            ["Okap__Azure__KeyVaultUri"] = "https://example.vault.azure.net/",
        });
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Okap:Azure:KeyVaultUri and Okap:Azure:SecretStore=DataProtection are both set: choose one place for the provider keys.", output);
    }

    [Fact]
    public async Task Sqlite_store_is_refused_on_an_azure_instance()
    {
        var (exitCode, output) = await StartWorkerAsync(new Dictionary<string, string> { ["Okap__Store"] = "Sqlite", ["WEBSITE_INSTANCE_ID"] = "set-by-the-platform" });
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Okap:Store=Sqlite is for local experiments: on Azure an instance's disk is neither shared nor kept. Use Okap:Store=Azure.", output);
    }

    [Fact]
    public async Task Key_vault_store_without_its_uri_is_refused_naming_the_local_alternative()
    {
        var (exitCode, output) = await StartWorkerAsync(new Dictionary<string, string>());
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Okap:Azure:KeyVaultUri is not set", output);
        Assert.Contains("Okap:Azure:SecretStore=DataProtection", output);
    }

    [Fact]
    public async Task Off_azure_the_data_protection_secret_store_is_accepted()
    {
        // The control: same settings, no platform marker. The worker goes on to open its tables (here unreachable).
        var (exitCode, output) = await StartWorkerAsync(new Dictionary<string, string> { ["Okap__Azure__SecretStore"] = "DataProtection" });
        Assert.NotEqual(0, exitCode);
        Assert.DoesNotContain("is for local runs on Azurite", output);
        Assert.Contains("Table Storage cannot be reached", output);
    }
}
