using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Okap.Testing;

namespace Okap.Server.Tests;

/// <summary>
/// <c>Okap:Proxy:PublicUrl</c> gives the proxy its own origin: tokens point there, the proxy answers only there, and
/// the page, sign-in, admin and OKAP routes never answer there (nothing of an owner's session sits beside upstream answers).
/// </summary>
public sealed class ProxyOriginTests : IAsyncLifetime
{
    private readonly VaultFactory _vault = new();
    private readonly FakeProvider _fake = new();

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        _vault.Settings["Okap:Proxy:PublicUrl"] = "http://api.localhost";
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        await _fake.DisposeAsync();
    }

    private async Task<JsonObject> GrantedAsync()
    {
        var owner = await _vault.SignUpAsync("alice");
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-master-0001" })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        return await (await _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk())).JsonAsync();
    }

    private static HttpRequestMessage Chat(string token)
    {
        var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        return call;
    }

    [Fact]
    public async Task Tokens_point_at_the_proxy_origin_and_the_proxy_answers_only_there()
    {
        var granted = await GrantedAsync();
        Assert.Equal("http://api.localhost/v1/openai", granted["token"]!["base_url"]!.GetValue<string>());
        var token = granted["token"]!["token"]!.GetValue<string>();

        var onProxy = await _vault.ClientFor("api.localhost").SendAsync(Chat(token));
        Assert.Equal(HttpStatusCode.OK, onProxy.StatusCode);

        var onPage = await _vault.ClientFor("localhost").SendAsync(Chat(token));
        Assert.Equal(HttpStatusCode.NotFound, onPage.StatusCode);
        Assert.Equal("not_found", (await onPage.JsonAsync())["error"]!["type"]!.GetValue<string>());
        Assert.Single(_fake.Seen, s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/assets/app.js")]
    [InlineData("/okap/account/session")]
    [InlineData("/okap/admin/keys")]
    public async Task The_page_and_its_api_never_answer_on_the_proxy_origin(string path)
    {
        var alice = await _vault.SignUpAsync("alice");
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync(path)).StatusCode);
        var response = await _vault.ClientFor("api.localhost").GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("csrf", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Sign_in_is_refused_on_the_proxy_origin_so_no_session_cookie_is_ever_set_there()
    {
        await _vault.SignUpAsync("alice");
        var login = await _vault.ClientFor("api.localhost").PostAsJsonAsync("/okap/account/login", new { user_name = "alice", password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.NotFound, login.StatusCode);
        Assert.False(login.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.OK, (await _vault.ClientFor("api.localhost").GetAsync("/okap/health")).StatusCode);
    }

    [Fact]
    public async Task Behind_an_edge_that_rewrites_Host_the_configured_header_names_the_origin()
    {
        _vault.Settings["Okap:Proxy:OriginHostHeader"] = "X-Okap-Origin-Host";
        var token = (await GrantedAsync())["token"]!["token"]!.GetValue<string>();
        var app = _vault.ClientFor("okap-app.azurewebsites.net");

        var page = new HttpRequestMessage(HttpMethod.Get, "/okap/account/session");
        page.Headers.Add("X-Okap-Origin-Host", "api.localhost");
        Assert.Equal(HttpStatusCode.NotFound, (await app.SendAsync(page)).StatusCode);

        var proxied = Chat(token);
        proxied.Headers.Add("X-Okap-Origin-Host", "api.localhost");
        Assert.Equal(HttpStatusCode.OK, (await app.SendAsync(proxied)).StatusCode);
        Assert.Null(_fake.Last()!.Header("X-Okap-Origin-Host"));

        var onPageHost = Chat(token);
        onPageHost.Headers.Add("X-Okap-Origin-Host", "localhost");
        Assert.Equal(HttpStatusCode.NotFound, (await app.SendAsync(onPageHost)).StatusCode);
    }

    [Fact]
    public void A_proxy_origin_equal_to_the_page_origin_is_refused_at_start_up()
    {
        _vault.Settings["Okap:Proxy:PublicUrl"] = "http://localhost";
        var error = Assert.ThrowsAny<Exception>(() => _vault.CreateClient());
        Assert.Contains("Okap:Proxy:PublicUrl", error.ToString());
    }
}
