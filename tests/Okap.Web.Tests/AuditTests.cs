using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>The audit trail: newest first, paged with continuations, filtered by app and event.</summary>
public sealed class AuditTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task Audit_pages_forward_and_back_and_filters()
    {
        var admin = await Server.CreateOwnerAsync(password: Password);
        for (var i = 0; i < 23; i++)
        {
            await admin.SendAsync(HttpMethod.Put, "/okap/admin/keys/openai", new { key = $"sk-test-{i:D4}", label = $"key {i}" });
        }
        await AuthorizeAsync("Alpha App");
        await AuthorizeAsync("Beta App");
        await SignInAsync("#/audit");

        await Page.GetByLabel("Per page").SelectOptionAsync("10");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        var rows = Page.Locator("#audit-table tbody tr");
        await Expect(rows).ToHaveCountAsync(10);
        await Expect(Page.Locator("#audit-page")).ToHaveTextAsync("Page 1");
        await Expect(rows.First).ToContainTextAsync("account.sign_in");   // newest first
        await ShotAsync("audit");
        var firstPage = await IdsAsync();
        var times = await Page.Locator("#audit-table time").EvaluateAllAsync<string[]>("els => els.map(e => e.getAttribute('datetime'))");
        Assert.Equal(times.OrderByDescending(t => DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture)), times);

        // Walk every page (27 events: account created, 23 key.set, 2 requests, sign-in).
        var seen = new List<string>(firstPage);
        var pages = 1;
        while (await Page.Locator("#audit-next").IsEnabledAsync())
        {
            await Page.Locator("#audit-next").ClickAsync();
            pages++;
            await Expect(Page.Locator("#audit-page")).ToHaveTextAsync("Page " + pages);
            seen.AddRange(await IdsAsync());
        }
        Assert.Equal(3, pages);
        Assert.Equal(27, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());

        // Back to the newer pages.
        await Page.Locator("#audit-prev").ClickAsync();
        await Page.Locator("#audit-prev").ClickAsync();
        await Expect(Page.Locator("#audit-page")).ToHaveTextAsync("Page 1");
        Assert.Equal(firstPage, await IdsAsync());
        await Expect(Page.Locator("#audit-prev")).ToBeDisabledAsync();

        // Filter by event.
        await Page.GetByLabel("Event").SelectOptionAsync("key.set");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(rows.First).ToContainTextAsync("key.set");
        await Expect(Page.Locator("#audit-page")).ToHaveTextAsync("Page 1");
        await Expect(rows).ToHaveCountAsync(10);
        var keySets = 10;
        while (await Page.Locator("#audit-next").IsEnabledAsync())
        {
            await Page.Locator("#audit-next").ClickAsync();
            await Expect(Page.Locator("#audit-page")).ToHaveTextAsync($"Page {keySets / 10 + 1}");
            keySets += await rows.CountAsync();
        }
        Assert.Equal(23, keySets);

        // Filter by app.
        await Page.GetByLabel("Event").SelectOptionAsync("");
        await Page.GetByLabel("App").FillAsync("Alpha App");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToContainTextAsync("request.created");
        await Expect(rows.First).ToContainTextAsync("Alpha App");

        await Page.GetByLabel("App").FillAsync("Nobody");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(Page.GetByText("No events match.")).ToBeVisibleAsync();

        // Search by substring, in any case: the app name, and a key's label in the entry's detail.
        await Page.GetByLabel("App").FillAsync("");
        await Page.GetByLabel("Search").FillAsync("bETA");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToContainTextAsync("Beta App");
        Assert.Contains("q=bETA", await Page.Locator("#audit-csv").GetAttributeAsync("href"));
        AssertNoPageProblems();
        admin.Dispose();
    }

    private Task<string[]> IdsAsync() =>
        Page.Locator("#audit-table tbody tr").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.eventId)");

    [Fact]
    public async Task The_audit_trail_downloads_as_csv_with_the_filters_in_the_form()
    {
        await SignedInAsync("#/audit");
        await AuthorizeAsync("Alpha App");
        await AuthorizeAsync("Beta App");
        await Page.GetByLabel("App").FillAsync("Beta App");
        var download = await Page.RunAndWaitForDownloadAsync(() => Page.GetByRole(AriaRole.Link, new() { Name = "Download CSV" }).ClickAsync());
        Assert.Matches(@"^okap-audit-\d{4}-\d{2}-\d{2}\.csv$", download.SuggestedFilename);
        var lines = (await File.ReadAllTextAsync((await download.PathAsync())!)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("at,event,app_name,", lines[0]);
        var row = Assert.Single(lines.Skip(1));
        Assert.Contains(",request.created,Beta App,", row);
        AssertNoPageProblems();
    }
}
