using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>The Requests screen: every past and pending request, newest first, searched and filtered by status.</summary>
public sealed class RequestsTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task Past_requests_are_listed_newest_first_and_can_be_searched_and_filtered_by_status()
    {
        var admin = await Server.CreateOwnerAsync(password: Password);
        var approved = await AuthorizeAsync("Notes App");
        var denied = await AuthorizeAsync("Sketchy Scraper");
        var pending = await AuthorizeAsync("Mail Helper", provider: "anthropic");
        await admin.SendAsync(HttpMethod.Post, $"/okap/admin/requests/{approved}/approve");
        await admin.SendAsync(HttpMethod.Post, $"/okap/admin/requests/{denied}/deny", new { reason = "not this one" });
        await SignInAsync("#/requests");

        var rows = Page.Locator("#requests-table tbody tr");
        await Expect(rows).ToHaveCountAsync(3);
        Assert.Equal([pending, denied, approved], await IdsAsync());
        await Expect(Page.Locator($"tr[data-request-id='{approved}']")).ToContainTextAsync("approved");
        await Expect(Page.Locator($"tr[data-request-id='{denied}']")).ToContainTextAsync("denied");
        await Expect(Page.Locator($"tr[data-request-id='{pending}']")).ToContainTextAsync("anthropic");
        await Expect(Page.Locator("#nav a[data-route='requests']")).ToHaveAttributeAsync("aria-current", "page");
        await ShotAsync("requests");

        await Page.GetByLabel("Search").FillAsync("scrap");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([denied], await IdsAsync());

        await Page.GetByLabel("Search").FillAsync("");
        await Page.GetByLabel("Status").SelectOptionAsync("pending");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        // The search left one row too: wait for the filtered list itself before reading it.
        await Expect(Page.Locator($"tr[data-request-id='{pending}']")).ToHaveCountAsync(1);
        await Expect(rows).ToHaveCountAsync(1);
        Assert.Equal([pending], await IdsAsync());

        // A row opens that request's consent screen.
        await Page.Locator($"tr[data-request-id='{pending}'] a").ClickAsync();
        await Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/requests/" + pending + "$"));
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Deny" })).ToBeVisibleAsync();
        AssertNoPageProblems();
    }

    private Task<string[]> IdsAsync() =>
        Page.Locator("#requests-table tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.getAttribute('data-request-id'))");
}
