using System.Diagnostics;

namespace Okap.Testing;

/// <summary>
/// The test suite's pinned Node package folders (<c>tests/azurite</c>, <c>tests/sdk-clients</c>): found from the test
/// assembly's folder upwards, installed from their lockfile with <c>npm ci</c> when ./test.sh has not done it yet.
/// </summary>
public static class NodePackages
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    /// <summary><c>tests/{name}</c> holding a <c>package-lock.json</c>, found from the test assembly's folder upwards.</summary>
    public static string Folder(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", name);
            if (File.Exists(Path.Combine(candidate, "package-lock.json"))) return candidate;
        }
        throw new DirectoryNotFoundException($"tests/{name}/package-lock.json not found above the test folder.");
    }

    /// <summary>Runs <c>npm ci</c> (the locked versions) in <paramref name="folder"/> unless <paramref name="marker"/> (a path inside it) exists.</summary>
    public static async Task EnsureInstalledAsync(string folder, string marker)
    {
        await InstallLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (File.Exists(Path.Combine(folder, marker))) return;
            var start = new ProcessStartInfo("npm") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "ci", "--no-audit", "--no-fund" }) start.ArgumentList.Add(arg);
            using var npm = Process.Start(start) ?? throw new InvalidOperationException("Could not start npm.");
            var stdout = npm.StandardOutput.ReadToEndAsync();
            var stderr = npm.StandardError.ReadToEndAsync();
            await npm.WaitForExitAsync().ConfigureAwait(false);
            if (npm.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci failed in {folder}: {await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}");
            }
        }
        finally
        {
            InstallLock.Release();
        }
    }
}
