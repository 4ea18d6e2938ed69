using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>A 375 px wide phone: no sideways scrolling on the main screens; consent works by keyboard.</summary>
public sealed class ResponsiveTests(BrowserFixture browser) : WebTest(browser)
{
    protected override ViewportSize Viewport => new() { Width = 375, Height = 740 };

    [Fact]
    public async Task Main_screens_fit_a_375px_phone()
    {
        var admin = await SignedInAsync();
        await admin.SendAsync(HttpMethod.Put, "/okap/admin/keys/openai", new { key = "sk-test-abcd", label = "Personal account key" });
        var id = await AuthorizeAsync("Phone Friendly App With A Rather Long Name", "A reasonably long reason that has to wrap on a small screen without overflowing");
        await Expect(Page.Locator(".request-item")).ToHaveCountAsync(1);
        await FitsAsync();
        await ShotAsync("mobile-dashboard");

        foreach (var hash in new[] { "#/requests/" + id, "#/keys", "#/prices", "#/policies", "#/audit", "#/access-keys", "#/connect", "#/tokens" })
        {
            await Page.GotoAsync("/" + hash);
            await Expect(Page.Locator(".loading")).ToHaveCountAsync(0);
            await FitsAsync(hash);
            if (hash.StartsWith("#/requests", StringComparison.Ordinal)) await ShotAsync("mobile-consent");
        }
    }

    [Fact]
    public async Task Consent_can_be_given_with_the_keyboard_alone()
    {
        await SignedInAsync();
        var id = await AuthorizeAsync("Keyboard App");
        await Page.GotoAsync("/#/requests/" + id);
        await Expect(Page.Locator("#approve-as-asked")).ToBeVisibleAsync();
        for (var i = 0; i < 60 && !await Page.Locator("#approve-as-asked").EvaluateAsync<bool>("e => e === document.activeElement"); i++)
        {
            await Page.Keyboard.PressAsync("Tab");
        }
        await Expect(Page.Locator("#approve-as-asked")).ToBeFocusedAsync();
        var outline = await Page.Locator("#approve-as-asked").EvaluateAsync<string>("e => getComputedStyle(e).outlineStyle");
        Assert.Equal("solid", outline);     // visible focus
        await Page.Keyboard.PressAsync("Enter");
        await Expect(Page.Locator(".badge-approved").First).ToBeVisibleAsync();
    }

    private async Task FitsAsync(string where = "dashboard")
    {
        var width = await Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        Assert.True(width <= 375, $"{where} is {width}px wide on a 375px screen");
    }
}
