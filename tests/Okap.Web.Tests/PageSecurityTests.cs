using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>The page refuses to be framed and carries its security headers.</summary>
public sealed class PageSecurityTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task Page_and_assets_carry_a_strict_policy_and_no_framing_headers()
    {
        using var http = Server.AppClient();
        foreach (var path in new[] { "/", "/assets/app.js", "/assets/app.css" })
        {
            using var response = await http.GetAsync(path);
            response.EnsureSuccessStatusCode();
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.Contains("script-src 'self'", csp);
            Assert.DoesNotContain("unsafe-inline", csp);
            Assert.Equal("DENY", string.Join("", response.Headers.GetValues("X-Frame-Options")));
            Assert.Equal("nosniff", string.Join("", response.Headers.GetValues("X-Content-Type-Options")));
        }
        var html = await http.GetStringAsync("/");
        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("style=", html);
        Assert.DoesNotContain("onclick", html);
    }

    [Fact]
    public async Task A_page_that_frames_the_vault_shows_nothing_of_it()
    {
        await Server.CreateOwnerAsync(password: Password);
        await Page.RouteAsync("http://framer.test/**", route => route.FulfillAsync(new()
        {
            ContentType = "text/html",
            Body = $"<!doctype html><h1>Evil page</h1><iframe id=victim src=\"{Server.Url}/\" width=600 height=400></iframe>",
        }));
        await Page.GotoAsync("http://framer.test/");
        await Page.Locator("#victim").WaitForAsync();
        await Page.WaitForTimeoutAsync(1500);
        var frame = Page.Frames.Single(f => f != Page.MainFrame);
        Assert.False(frame.Url.StartsWith(Server.Url, StringComparison.Ordinal), frame.Url);   // chromium shows its own error page instead
        Assert.Equal(0, await Page.FrameLocator("#victim").Locator("#app").CountAsync());
        Assert.Equal("Evil page", await Page.Locator("h1").TextContentAsync());
        await ShotAsync("framing-blocked");
    }
}
