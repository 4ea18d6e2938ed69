using System.Reflection;
using System.Text.Json;

namespace Okap.Functions.Tests;

/// <summary>One HTTP-triggered function as <c>functions.metadata</c> declares it.</summary>
public sealed record FunctionRoute(string Name, string Route, IReadOnlyList<string> Methods, string AuthLevel);

/// <summary>
/// Finds and reads the <c>functions.metadata</c> the Functions SDK writes next to the built worker:
/// <c>OKAP_FUNCTIONS_METADATA</c> when set, else the newest <c>src/Okap.Functions/bin/*/net10.0/functions.metadata</c>.
/// </summary>
public static class FunctionsMetadata
{
    public const string EnvironmentVariable = "OKAP_FUNCTIONS_METADATA";

    public static string RepositoryRoot { get; } = typeof(FunctionsMetadata).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>The metadata file; a missing one fails the test with the reason (the app is built with everything else).</summary>
    public static string Require() => Locate() is { Path: { } path } ? path : throw new FileNotFoundException(Locate().Reason);

    /// <summary>The metadata file, or null with the reason it is missing.</summary>
    public static (string? Path, string Reason) Locate()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured)
                ? (configured, "")
                : (null, $"{EnvironmentVariable} names {configured}, which does not exist: build src/Okap.Functions first.");
        }
        var bin = Path.Combine(RepositoryRoot, "src", "Okap.Functions", "bin");
        var found = Directory.Exists(bin)
            ? Directory.GetDirectories(bin).Select(d => Path.Combine(d, "net10.0", "functions.metadata")).Where(File.Exists)
                .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
        return found is not null
            ? (found, "")
            : (null, "src/Okap.Functions has not been built here (no functions.metadata): build it first (./test.sh builds Okap.Tests.slnf, which includes it).");
    }

    public static IReadOnlyList<FunctionRoute> Read(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var routes = new List<FunctionRoute>();
        foreach (var function in document.RootElement.EnumerateArray())
        {
            var name = function.GetProperty("name").GetString()!;
            foreach (var binding in function.GetProperty("bindings").EnumerateArray())
            {
                if (!string.Equals(binding.GetProperty("type").GetString(), "httpTrigger", StringComparison.OrdinalIgnoreCase)) continue;
                // No route: the Functions host uses the function's name.
                var route = binding.TryGetProperty("route", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : name;
                var methods = binding.TryGetProperty("methods", out var m) && m.ValueKind == JsonValueKind.Array
                    ? m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant()).ToList()
                    : [];
                var authLevel = binding.TryGetProperty("authLevel", out var a) ? a.GetString() ?? "" : "";
                routes.Add(new FunctionRoute(name, route, methods, authLevel));
            }
        }
        return routes;
    }
}
