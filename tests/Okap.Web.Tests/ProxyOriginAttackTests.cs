using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Okap.Core;
using Okap.Core.Tokens;

namespace Okap.Web.Tests;

/// <summary>
/// The attack of issue 12, end to end in Chromium: an owner (mallory) points an owner-defined upstream at her own
/// server, which answers with a page whose script reads the signed-in victim's anti-forgery token from
/// <c>/okap/account/session</c> and creates an access key in the victim's account. She sends the victim a link to
/// <c>{vault}/v1/ollama/…?key={her token}</c>. The vault must serve that answer inert.
/// </summary>
public sealed class ProxyOriginAttackTests(BrowserFixture browser) : WebTest(browser)
{
    // What the hostile upstream serves: on the vault's origin, with the victim's cookies, it would act as the victim.
    private const string AttackPage = """
        <!doctype html><title>loading</title><script>
        (async () => {
          try {
            const s = await (await fetch('/okap/account/session', { credentials: 'include' })).json();
            const r = await fetch('/okap/admin/access-keys', { method: 'POST', credentials: 'include',
              headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token }, body: JSON.stringify({ name: 'pwned by mallory', scopes: ['keys'] }) });
            document.title = 'pwned ' + r.status;
          } catch (e) { document.title = 'failed ' + e; }
        })();
        </script>
        """;

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Okap:Auth:AllowRegistration"] = "true",
        ["Okap:Proxy:AllowInsecureOwnerUpstreams"] = "true",
        ["Okap:Proxy:AllowPrivateOwnerUpstreams"] = "true",
    };

    [Fact]
    public async Task A_hostile_upstreams_page_served_by_the_proxy_cannot_act_in_a_signed_in_owners_account()
    {
        await using var evil = await HostileUpstream.StartAsync(AttackPage);
        var alice = await SignedInAsync();
        var link = await MalloryLinkAsync(evil.Url);

        var response = await Page.GotoAsync(link);
        Assert.NotNull(response);
        Assert.Equal(200, response!.Status);   // the upstream's answer did reach the browser
        Assert.StartsWith("sandbox;", response.Headers["content-security-policy"]);
        Assert.Equal("nosniff", response.Headers["x-content-type-options"]);
        await Page.WaitForTimeoutAsync(1500);   // time for the script, had it run, to finish its two fetches
        Assert.DoesNotContain("pwned", await Page.TitleAsync());
        Assert.Empty((await alice.GetAsync("/okap/admin/access-keys"))!.AsArray());

        // Control: the very same body on the vault's origin without the vault's headers (today's main passed the
        // upstream's own headers through) does take over the account, so the assertion above can fail.
        await Page.RouteAsync("**/v1/ollama/control", route => route.FulfillAsync(new() { ContentType = "text/html", Body = AttackPage }));
        await Page.GotoAsync(Server.Url + "/v1/ollama/control");
        await Expect(Page).ToHaveTitleAsync("pwned 201", new() { Timeout = 10_000 });
        Assert.Single((await alice.GetAsync("/okap/admin/access-keys"))!.AsArray());
    }

    /// <summary>Mallory: her own account, an owner-defined upstream for provider <c>ollama</c> at her server, and a token for it.</summary>
    private async Task<string> MalloryLinkAsync(string upstream)
    {
        using var mallory = new AdminClient(Server.Url);
        using (var created = await mallory.Http.PostAsJsonAsync("/okap/account/setup", new { user_name = "mallory", password = Password }))
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await mallory.RefreshCsrfAsync();
        var ownerId = (await mallory.GetAsync("/okap/account/session"))!["owner_id"]!.GetValue<string>();
        await mallory.SendAsync(HttpMethod.Put, "/okap/admin/keys/ollama", new { base_url = upstream, auth_kind = "none" });

        var token = Okap.Core.Secrets.NewToken();
        await Server.Services.GetRequiredService<ITokenStore>().CreateAsync(new TokenRecord
        {
            Id = Okap.Core.Secrets.NewId("tok"),
            Hash = Okap.Core.Secrets.Hash(token),
            OwnerId = ownerId,
            AppName = "Mallory's app",
            DisplayPrefix = Okap.Core.Secrets.DisplayPrefix(token),
            Grants = [new Grant("ollama", [], [], Limits.None, null)],
            CreatedAt = DateTimeOffset.UtcNow,
        }, CancellationToken.None);
        return $"{Server.Url}/v1/ollama/welcome?key={token}";
    }

    /// <summary>The owner-defined upstream mallory controls: every path answers with her page.</summary>
    private sealed class HostileUpstream : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private HostileUpstream(WebApplication app, string url)
        {
            _app = app;
            Url = url;
        }

        public string Url { get; }

        public static async Task<HostileUpstream> StartAsync(string html)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.Sources.Clear();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.Map("/{**path}", (HttpContext c) =>
            {
                c.Response.Headers["Access-Control-Allow-Origin"] = "*";
                c.Response.Headers["Content-Security-Policy"] = "script-src 'unsafe-inline'";
                return Results.Content(html, "text/html; charset=utf-8");
            });
            await app.StartAsync();
            return new HostileUpstream(app, app.Urls.First());
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
