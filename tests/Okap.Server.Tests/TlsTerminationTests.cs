using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Okap.Server.Tests;

/// <summary>
/// The server on a real socket with an https <c>Okap:PublicUrl</c> behind a TLS-terminating proxy: without a trusted
/// proxy it refuses to start with a message naming the fix; with one, the session endpoint works over the proxy's http.
/// </summary>
public sealed class TlsTerminationTests
{
    private static VaultFactory Vault(bool trustLoopbackProxy)
    {
        var vault = new VaultFactory();
        vault.Settings["Okap:PublicUrl"] = "https://vault.test";
        if (trustLoopbackProxy) vault.Settings["Okap:ForwardedHeaders:KnownProxies:0"] = "127.0.0.1";
        vault.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        return vault;
    }

    [Fact]
    public void An_https_public_url_served_over_http_without_a_trusted_proxy_fails_at_start_up_with_the_fix()
    {
        using var vault = Vault(trustLoopbackProxy: false);
        var error = Assert.ThrowsAny<Exception>(() => vault.StartServer());
        var message = error is AggregateException a ? string.Join(" ", a.Flatten().InnerExceptions.Select(e => e.Message)) : error.Message;
        Assert.Contains("Okap:PublicUrl is https://vault.test", message);
        Assert.Contains("Okap:ForwardedHeaders:KnownProxies", message);
    }

    [Fact]
    public async Task Behind_a_trusted_tls_terminating_proxy_the_session_answers_with_an_anti_forgery_token()
    {
        using var vault = Vault(trustLoopbackProxy: true);
        vault.StartServer();
        var address = vault.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // The proxy's hop: plain http from 127.0.0.1, saying the client's connection was https. Secure cookies are
        // carried by hand, as the proxy would pass them on.
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = new Uri(address) };
        http.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        http.DefaultRequestHeaders.Host = "vault.test";
        using var created = await http.PostAsJsonAsync("/okap/account/setup", new { user_name = "alice", password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var cookies = created.Headers.GetValues("Set-Cookie").ToArray();
        Assert.All(cookies, c => Assert.Contains("secure", c, StringComparison.OrdinalIgnoreCase));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/okap/account/session");
        request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => c.Split(';')[0])));
        using var session = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, session.StatusCode);
        Assert.False(string.IsNullOrEmpty((string?)(await session.Content.ReadFromJsonAsync<JsonObject>())!["csrf_token"]));
    }
}
