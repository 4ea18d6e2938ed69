using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Okap.Testing;
using Okap.Testing.Behaviour;
using Okap.Testing.Vaults;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>The Functions app under the real Functions host as a vault under test, over real HTTP, on Azurite.</summary>
public sealed class HostedVault(FunctionsHost host, string tableConnection, string tablePrefix, string? baseDomain) : VaultUnderTest
{
    public FunctionsHost Host { get; } = host;
    public override string Url => Host.Url;
    public override StoreKind Store => StoreKind.Azurite;
    public override string HostKind => "Functions host";
    public override string? BaseDomain { get; } = baseDomain;

    /// <summary>What the host wrote at the levels host.json keeps (the worker's console included, as <c>Host.Function.Console</c>).</summary>
    public override string LogText => Host.Output;

    public override Task<string> StoredTextAsync() => Task.FromResult(AzuriteProcess.TablesText(tableConnection, tablePrefix));

    /// <summary>The token of the setup link the app printed through the host's console, as a person reads it there.</summary>
    public override async Task<string> SetupTokenAsync()
    {
        var output = await Host.WaitForOutputAsync(o => o.Contains("/#/setup?token=", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        var link = Regex.Match(output, @"open (\S+/#/setup\?token=\S+)").Groups[1].Value;
        Assert.StartsWith($"{Url}/#/setup?token=setup_", link);
        return link.Split("token=")[1];
    }

    public override async ValueTask DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>
/// The behaviour suite's pass under the real Functions host: one Azurite (Blob, Queue and Table: the host keeps leases
/// and keys in blobs), the built app (built here when missing) and two hosts on it, started once for the whole run.
/// Both start from <c>local.settings.sample.json</c> as shipped, copied next to the app as docs/functions.md says; the
/// environment overrides only addresses (Azurite's and the host's ports, the fake provider), the suite's timings and,
/// for the shared vault, the suite's multi-owner settings. The single-owner vault is therefore the sample itself.
/// </summary>
public sealed class FunctionsPass : BehaviourPass
{
    private static readonly string Configuration = typeof(FunctionsPass).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "Configuration").Value!;

    private AzuriteProcess? _azurite;
    private string? _appCopy;

    public override string? SkipReason => FunctionsHost.UnavailableReason;

    public HostedVault SingleHost => (HostedVault)Single;
    public HostedVault SharedHost => (HostedVault)Shared;

    /// <summary>The app folder the hosts run (a copy of the build output with the sample settings).</summary>
    public string AppFolder => _appCopy!;

    public AzuriteProcess Azurite => _azurite!;

    protected override async Task BeforeVaultsAsync()
    {
        var app = await BuiltAppAsync();
        // A copy, so the shipped sample is the app folder's local.settings.json as `cp` in docs/functions.md makes it.
        _appCopy = Path.Combine(Path.GetTempPath(), "okap-functions-" + Guid.NewGuid().ToString("N")[..8]);
        CopyDirectory(app, _appCopy);
        File.Copy(Path.Combine(FunctionsMetadata.RepositoryRoot, "local.settings.sample.json"), Path.Combine(_appCopy, "local.settings.json"));
        _azurite = await AzuriteProcess.StartAllServicesAsync();
    }

    protected override async Task<VaultUnderTest> StartVaultAsync(string name, IReadOnlyDictionary<string, string> settings)
    {
        var port = FunctionsHost.FreePort();
        var host = await FunctionsHost.StartAsync(_appCopy!, Environment(name, port, settings), port, TimeSpan.FromMinutes(2));
        var baseDomain = settings.TryGetValue("Okap:Addressing:BaseDomain", out var domain) && domain.Length > 0 ? domain : null;
        return new HostedVault(host, _azurite!.ConnectionString, name, baseDomain);
    }

    /// <summary>App settings as the host reads them (<c>Okap__…</c>) for a host named <paramref name="name"/> on <paramref name="port"/>.</summary>
    public Dictionary<string, string> Environment(string name, int port, IReadOnlyDictionary<string, string> settings)
    {
        var environment = settings.ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value);
        environment["AzureWebJobsStorage"] = _azurite!.AllServicesConnectionString;
        // Hosts share one storage account: distinct host ids keep their leases apart.
        environment["AzureFunctionsWebHost__hostid"] = "okap-tests-" + name;
        environment["Okap__Azure__ConnectionString"] = _azurite.ConnectionString;
        environment["Okap__Azure__TablePrefix"] = name;
        environment["Okap__PublicUrl"] = $"http://127.0.0.1:{port}";
        return environment;
    }

    protected override async Task AfterVaultsAsync()
    {
        if (_azurite is not null) await _azurite.DisposeAsync();
        if (_appCopy is not null)
        {
            try { Directory.Delete(_appCopy, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary><c>src/Okap.Functions/bin/{Configuration}/net10.0</c>, built with <c>dotnet build</c> first when it is not there.</summary>
    public static async Task<string> BuiltAppAsync()
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
}

/// <summary>Skips a class of this pass, with the reason, where no Functions host can run.</summary>
public sealed class UnderHostAttribute : PassConditionAttribute
{
    public override string? SkipReason => FunctionsHost.UnavailableReason;
}

/// <summary>A host-only test (not part of the shared suite), reported skipped with the reason where no host can run.</summary>
public sealed class HostFactAttribute : FactAttribute
{
    public HostFactAttribute()
    {
        if (FunctionsHost.UnavailableReason is { } reason) Skip = reason;
    }
}

[CollectionDefinition(Name)]
public sealed class FunctionsPassCollection : ICollectionFixture<FunctionsPass>
{
    public const string Name = "behaviour suite under the Functions host";
}

[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class AccountUnderHost(FunctionsPass pass) : AccountBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class SignInSecurityUnderHost(FunctionsPass pass) : SignInSecurityBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class AccessKeyScopeUnderHost(FunctionsPass pass) : AccessKeyScopeBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class PlatformSignInUnderHost(FunctionsPass pass) : PlatformSignInBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class SdkShapeUnderHost(FunctionsPass pass) : SdkShapeBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class SpecShapeUnderHost(FunctionsPass pass) : SpecShapeBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class InputAndAdminUnderHost(FunctionsPass pass) : InputAndAdminBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class OwnerIsolationUnderHost(FunctionsPass pass) : OwnerIsolationBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class PageUnderHost(FunctionsPass pass) : PageBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class ProxyUnderHost(FunctionsPass pass) : ProxyBehaviour(pass);
[UnderHost, Collection(FunctionsPassCollection.Name)] public sealed class SecretsUnderHost(FunctionsPass pass) : SecretsBehaviour(pass);
