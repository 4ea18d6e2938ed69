using System.Diagnostics;
using System.Reflection;

namespace Okap.Infra.Tests;

/// <summary>Result of one bicep CLI invocation.</summary>
public sealed record BicepRun(int ExitCode, string StdOut, string StdErr)
{
    public string Output => StdOut + StdErr;

    /// <summary>Diagnostic lines (" : Warning ", " : Error ", " : Info ") printed by bicep.</summary>
    public IReadOnlyList<string> Diagnostics =>
        Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.Contains(" : Warning ", StringComparison.Ordinal)
                        || l.Contains(" : Error ", StringComparison.Ordinal)
                        || l.Contains(" : Info ", StringComparison.Ordinal))
            .ToList();
}

/// <summary>Locates and runs the bicep CLI (from BICEP_PATH or the NuGet package restored by this project).</summary>
internal static class BicepCli
{
    private static readonly Lazy<string> LazyPath = new(Locate);

    public static string Path => LazyPath.Value;

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Repo(params string[] parts) =>
        System.IO.Path.Combine([RepositoryRoot, .. parts]);

    public static BicepRun Run(params string[] args)
    {
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {Path}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', args)} did not finish in 5 minutes");
        }

        return new BicepRun(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("BICEP_PATH");
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            if (!File.Exists(fromEnv))
            {
                throw new FileNotFoundException($"BICEP_PATH points at '{fromEnv}', which does not exist.");
            }

            return fromEnv;
        }

        var exe = OperatingSystem.IsWindows() ? "bicep.exe" : "bicep";
        var candidates = new List<string>();
        var packageDir = Metadata("BicepPackageDirectory");
        if (!string.IsNullOrEmpty(packageDir))
        {
            candidates.Add(System.IO.Path.Combine(packageDir, "tools", exe));
        }

        // Fallback: any restored version in the NuGet package folder.
        var packagesRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(packagesRoot))
        {
            packagesRoot = System.IO.Path.Combine(
                Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }

        if (Directory.Exists(packagesRoot))
        {
            candidates.AddRange(Directory.EnumerateDirectories(packagesRoot, "azure.bicep.commandline.*")
                .SelectMany(d => Directory.EnumerateDirectories(d))
                .OrderByDescending(d => d, StringComparer.Ordinal)
                .Select(d => System.IO.Path.Combine(d, "tools", exe)));
        }

        var found = candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                "bicep CLI not found. Restore this project (PackageDownload Azure.Bicep.CommandLine.*) or set BICEP_PATH. Looked in: "
                + string.Join(", ", candidates));

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(found);
            const UnixFileMode exec = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(found, mode | exec);
            }
        }

        return found;
    }

    private static string FindRepositoryRoot()
    {
        var fromBuild = Metadata("RepositoryRoot");
        if (!string.IsNullOrEmpty(fromBuild) && File.Exists(System.IO.Path.Combine(fromBuild, "infra", "main.bicep")))
        {
            return fromBuild;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "infra", "main.bicep")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Could not find the repository root (a folder with infra/main.bicep).");
    }

    private static string? Metadata(string key) =>
        typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == key)?.Value;
}
