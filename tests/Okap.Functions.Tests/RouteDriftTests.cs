using Okap.AspNetCore;

namespace Okap.Functions.Tests;

/// <summary>
/// The Azure Functions app must serve exactly the routes of the self-hosted server: same patterns, same methods,
/// each table route by the function of the same name (the name is how a function finds its handler).
/// </summary>
public sealed class RouteDriftTests(ServerRoutes server) : IClassFixture<ServerRoutes>
{
    private static IReadOnlyList<FunctionRoute> Functions() => FunctionsMetadata.Read(FunctionsMetadata.Require());

    private static IEnumerable<string> Entries(FunctionRoute function) =>
        (function.Methods.Count > 0 ? function.Methods : RoutePatterns.AnyMethod).Select(m => $"{m} {RoutePatterns.Normalise(function.Route)}");

    [Fact]
    public void Both_hosts_serve_the_same_routes_and_methods()
    {
        var functions = Functions().SelectMany(Entries).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var serverOnly = server.Routes.Except(functions, StringComparer.OrdinalIgnoreCase).Order().ToList();
        var functionsOnly = functions.Except(server.Routes, StringComparer.OrdinalIgnoreCase).Order().ToList();
        Assert.True(serverOnly.Count == 0 && functionsOnly.Count == 0,
            "The hosts' routes differ." +
            $"\nServed only by the server (add a function in src/Okap.Functions): {Describe(serverOnly)}" +
            $"\nServed only by the Functions app: {Describe(functionsOnly)}" +
            $"\nServer ({server.Routes.Count}): {Describe(server.Routes.Order())}" +
            $"\nFunctions app ({functions.Count}): {Describe(functions.Order())}");
    }

    [Fact]
    public void Each_table_route_is_served_by_the_function_named_after_it()
    {
        var functions = Functions().ToDictionary(f => f.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var route in OkapRoutes.All)
        {
            if (!functions.TryGetValue(route.Name, out var function))
            {
                problems.Add($"{route.Name}: no function of that name ({route.Method} {route.Pattern})");
                continue;
            }
            if (RoutePatterns.Normalise(function.Route) != RoutePatterns.Normalise(route.Pattern))
            {
                problems.Add($"{route.Name}: function route '{function.Route}', table pattern '{route.Pattern}'");
            }
            if (function.Methods.Count != 1 || !string.Equals(function.Methods[0], route.Method, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{route.Name}: function methods [{string.Join(", ", function.Methods)}], table method {route.Method}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Every_function_is_anonymous_because_handlers_authenticate_themselves()
    {
        var keyed = Functions().Where(f => !string.Equals(f.AuthLevel, "Anonymous", StringComparison.OrdinalIgnoreCase))
            .Select(f => $"{f.Name} ({f.AuthLevel})").ToList();
        Assert.True(keyed.Count == 0, "A function key would lock out OKAP clients and the web page: " + string.Join(", ", keyed));
    }

    private static string Describe(IEnumerable<string> entries)
    {
        var list = entries.ToList();
        return list.Count == 0 ? "(none)" : "\n  " + string.Join("\n  ", list);
    }
}
