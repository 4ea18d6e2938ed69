using System.Text.Json;

namespace Okap.Functions.Tests;

/// <summary>The repository's host.json, which the Functions app ships, keeps the routes and logs as the drift test assumes.</summary>
public sealed class HostJsonTests
{
    private static JsonElement HostJson()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(FunctionsMetadata.RepositoryRoot, "host.json")));
        return document.RootElement.Clone();
    }

    [Fact]
    public void Routes_have_no_prefix_so_they_match_the_server()
    {
        Assert.Equal("", HostJson().GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }

    [Fact]
    public void Request_urls_are_not_logged_at_information()
    {
        var levels = HostJson().GetProperty("logging").GetProperty("logLevel");
        Assert.Equal("Warning", levels.GetProperty("default").GetString());
        Assert.Equal("Warning", levels.GetProperty("Microsoft.AspNetCore.Hosting.Diagnostics").GetString());
    }

    [Fact]
    public void The_workers_console_is_kept_so_the_setup_link_is_shown()
    {
        // Under the host, what the worker prints arrives as Host.Function.Console (UnderHost/HostSettingsUnderHostTests
        // proves the link is shown; this names the setting).
        Assert.Equal("Information", HostJson().GetProperty("logging").GetProperty("logLevel").GetProperty("Host.Function.Console").GetString());
    }

    [Fact]
    public void The_proxys_per_call_forwarder_lines_are_kept_out_of_the_log()
    {
        // Under the host the worker's own logs arrive as Function.{name}.User; for the proxy that is one
        // "Proxying to {upstream URL}" line a call (UnderHost/HostSettingsUnderHostTests checks the log itself).
        Assert.Equal("Warning", HostJson().GetProperty("logging").GetProperty("logLevel").GetProperty("Function.Proxy.User").GetString());
    }

    [Fact]
    public void Long_streams_are_not_cut_at_the_default_timeout()
    {
        Assert.True(TimeSpan.Parse(HostJson().GetProperty("functionTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture) >= TimeSpan.FromMinutes(10));
    }

    [Theory]
    [InlineData("/okap/admin/requests/{id}", "/okap/admin/requests/{id}")]
    [InlineData("okap/admin/requests/{id}", "/okap/admin/requests/{id}")]
    [InlineData("/assets/{**path}", "/assets/{*path}")]
    [InlineData("assets/{*path}", "/assets/{*path}")]
    [InlineData("/", "/")]
    [InlineData("{ignored:maxlength(0)?}", "/")]
    [InlineData("v1/{provider}/{*path}", "/v1/{provider}/{*path}")]
    public void Patterns_are_normalised(string pattern, string expected) => Assert.Equal(expected, RoutePatterns.Normalise(pattern));
}
