using System.Net;
using System.Net.Http.Json;

namespace Okap.Server.Tests;

public sealed class RateLimitTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Public_routes_are_rate_limited_per_client_address()
    {
        _vault.Settings["Okap:Http:PublicRequestsPerMinute"] = "5";
        var client = _vault.ClientFor();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++) statuses.Add((await client.PostAsJsonAsync("/okap/request", new { provider = "nope" })).StatusCode);

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.BadRequest));
        var limited = await client.PostAsJsonAsync("/okap/request", new { provider = "nope" });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
    }
}
