using System.Diagnostics;

namespace Okap.Cli.Tests;

/// <summary><c>okap</c> as a .NET tool: packed, installed from a local folder only (no feed on the network), and run.</summary>
public sealed class ToolPackageTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public async Task The_packed_tool_installs_from_a_local_folder_and_runs_as_okap()
    {
        var work = Directory.CreateTempSubdirectory("okap-tool-");
        try
        {
            var project = Path.Combine(RepositoryRoot(), "src", "Okap.Cli", "Okap.Cli.csproj");
            var packages = Path.Combine(work.FullName, "packages");
            // The test run has built the project already; packing that build keeps the test off the compiler.
            await RunAsync(Dotnet, work.FullName, "pack", project, "-c", Configuration, "--no-build", "-o", packages, "-nologo");
            Assert.Single(Directory.GetFiles(packages, "Okap.Cli.*.nupkg"));

            // Only the folder as a source: installing must not need any feed but the package itself.
            var config = Path.Combine(work.FullName, "nuget.config");
            await File.WriteAllTextAsync(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration><packageSources><clear /><add key="local" value="{packages}" /></packageSources></configuration>
                """);
            var tools = Path.Combine(work.FullName, "tools");
            await RunAsync(Dotnet, work.FullName, "tool", "install", "Okap.Cli", "--tool-path", tools, "--configfile", config);

            var (code, stdout) = await RunAsync(Path.Combine(tools, "okap"), work.FullName, "--help");
            Assert.Equal(0, code);
            foreach (var command in new[] { "requests", "tokens", "keys", "policies", "usage", "audit", "prices", "catalog", "access-keys" })
            {
                Assert.Contains(command, stdout);
            }
            Assert.Contains("Exit codes: 0 ok", stdout);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>The dotnet root this test runs on (shared/Microsoft.NETCore.App/&lt;version&gt; is where object lives).</summary>
    private static string DotnetRoot => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));

    private static string Dotnet => Path.Combine(DotnetRoot, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props"))) return dir.FullName;
        }
        throw new InvalidOperationException("no repository root above " + AppContext.BaseDirectory);
    }

    private static async Task<(int Code, string Stdout)> RunAsync(string file, string directory, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // The tool's launcher finds the runtime through DOTNET_ROOT; the NuGet cache stays the machine's.
        start.Environment["DOTNET_ROOT"] = DotnetRoot;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        Assert.True(process.ExitCode == 0, $"{Path.GetFileName(file)} {string.Join(' ', args)}: exit {process.ExitCode}\n{output}\n{await stderr}");
        return (process.ExitCode, output);
    }
}
