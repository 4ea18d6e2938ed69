using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Okap.Core;
using Okap.Core.Metering;

namespace Okap.Web.Tests;

/// <summary>The tokens page: limits, usage against each cap, daily charts, revocation with an in-page confirmation.</summary>
public sealed class TokenTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task Tokens_show_limits_usage_bars_and_charts_and_revoke_asks_first()
    {
        var admin = await Server.CreateOwnerAsync(password: Password);
        var tokenId = await ApprovedTokenAsync(admin, "Budget Bot");
        await ApprovedTokenAsync(admin, "Quiet App");
        await SeedUsageAsync(admin, tokenId);

        await SignInAsync("#/tokens");
        var card = Page.Locator("article.token", new() { HasText = "Budget Bot" });
        await Expect(card).ToContainTextAsync("Monthly spend: $5.00 per month");
        await Expect(card).ToContainTextAsync("gpt-4o-mini");
        await Expect(card.Locator(".meter", new() { HasText = "Spend this month" })).ToContainTextAsync("of $5.00");
        await Expect(card.Locator(".meter", new() { HasText = "Spend today" })).ToContainTextAsync("$0.25");
        var fill = card.Locator(".meter", new() { HasText = "Spend this month" }).Locator(".meter-fill");
        Assert.NotEqual("0%", await fill.EvaluateAsync<string>("e => e.style.width"));
        await Expect(card.Locator("[role=meter][aria-label='Spend this month']")).ToHaveAttributeAsync("aria-valuemax", "5");
        await Expect(card.Locator("[role=meter][aria-label='Spend today']")).ToHaveAttributeAsync("aria-valuetext", "$0.25, no cap");

        // The overall chart and the token's own chart (inside a disclosure).
        await Expect(Page.Locator(".chart-totals").First).ToContainTextAsync("$1.60");
        Assert.Equal(30, await Page.Locator("svg.chart-spend").First.Locator("rect.bar").CountAsync());
        await card.GetByText("Daily spend and tokens, last 30 days").ClickAsync();
        await Expect(card.Locator("svg.chart-tokens")).ToBeVisibleAsync();
        await ShotAsync("tokens");
        await ShotAsync("tokens-full", fullPage: true);

        // Revoke: the in-page dialog asks; Cancel keeps the token.
        await card.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        var dialog = Page.Locator("#confirm-dialog");
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(dialog).ToContainTextAsync("Budget Bot loses access at once");
        await ShotAsync("revoke-confirm");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        Assert.Equal("active", (await admin.GetAsync("/okap/admin/tokens/" + tokenId))!["status"]!.GetValue<string>());

        await card.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Revoke token" }).ClickAsync();
        await Expect(Page.Locator("article.token", new() { HasText = "Budget Bot" })).ToHaveCountAsync(0);
        Assert.Equal("revoked", (await admin.GetAsync("/okap/admin/tokens/" + tokenId))!["status"]!.GetValue<string>());
        await Page.GetByLabel("Show revoked and expired tokens").CheckAsync();
        await Expect(Page.Locator("article.token", new() { HasText = "Budget Bot" }).Locator(".badge-revoked")).ToBeVisibleAsync();

        // The dashboard shows the overall 30 days too (here with a key and a new pending request).
        await admin.SendAsync(HttpMethod.Put, "/okap/admin/keys/openai", new { key = "sk-test-0000abcd", label = "Personal" });
        await AuthorizeAsync("Travel Planner", "Suggest itineraries for my trips");
        await Page.Locator("#nav").GetByRole(AriaRole.Link, new() { Name = "Dashboard" }).ClickAsync();
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Dashboard");
        await Expect(Page.Locator(".chart-totals")).ToContainTextAsync("$1.60");
        await Expect(Page.Locator(".request-item", new() { HasText = "Travel Planner" })).ToBeVisibleAsync();
        await ShotAsync("dashboard");
        AssertNoPageProblems();
    }

    [Fact]
    public async Task No_tokens_shows_an_empty_state()
    {
        await SignedInAsync("#/tokens");
        await Expect(Page.GetByText("No app has a token yet.")).ToBeVisibleAsync();
    }

    /// <summary>An app asks (spec shape), the owner approves through the API, the app collects the token; returns its id.</summary>
    [Fact]
    public async Task An_active_token_is_narrowed_in_the_page_and_widening_is_stopped_there()
    {
        var admin = await Server.CreateOwnerAsync(password: Password);
        var tokenId = await ApprovedTokenAsync(admin, "Narrow Me");
        await SignInAsync("#/tokens");
        var card = Page.Locator("article.token", new() { HasText = "Narrow Me" });
        await card.GetByRole(AriaRole.Button, new() { Name = "Narrow…" }).ClickAsync();
        var monthly = card.Locator("input[data-limit=monthly_spend]");
        await Expect(monthly).ToHaveValueAsync("5");
        await monthly.FillAsync("9");
        await card.GetByRole(AriaRole.Button, new() { Name = "Save narrower access" }).ClickAsync();
        await Expect(card.Locator(".form-error")).ToContainTextAsync("at most $5.00 per month, as the token allows now");

        await monthly.FillAsync("2");
        await card.GetByRole(AriaRole.Button, new() { Name = "Save narrower access" }).ClickAsync();
        await Expect(Page.Locator(".toast")).ToContainTextAsync("Narrowed the access of Narrow Me");
        card = Page.Locator("article.token", new() { HasText = "Narrow Me" });
        await Expect(card).ToContainTextAsync("Monthly spend: $2.00 per month");
        var stored = (await admin.GetAsync($"/okap/admin/tokens/{tokenId}"))!;
        Assert.Equal(2m, stored["grants"]![0]!["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(30, stored["grants"]![0]!["limits"]!["requests_per_minute"]!.GetValue<int>());
        AssertNoPageProblems();
    }

    internal async Task<string> ApprovedTokenAsync(AdminClient admin, string appName)
    {
        var (id, poll) = await AuthorizeWithPollAsync(appName, "for tests");
        await admin.SendAsync(HttpMethod.Post, $"/okap/admin/requests/{id}/approve");
        var reply = await PollAsync(poll);
        Assert.Equal("granted", reply["status"]!.GetValue<string>());
        return (await admin.GetAsync($"/okap/admin/requests/{id}"))!["token_id"]!.GetValue<string>();
    }

    /// <summary>Writes ten days of usage for the token straight into the store (the proxy would do this).</summary>
    private async Task SeedUsageAsync(AdminClient admin, string tokenId)
    {
        var owner = (await admin.GetAsync("/okap/account/session"))!["owner_id"]!.GetValue<string>();
        var store = Server.Services.GetRequiredService<IUsageStore>();
        var grant = UsageKeys.Grant(tokenId, "openai");
        var now = DateTimeOffset.UtcNow;
        var deltas = new List<UsageCounter>();
        long month = 0;
        for (var i = 0; i < 10; i++)
        {
            var cost = i == 0 ? 250_000L : 100_000L + i * 10_000L;   // today $0.25
            if (now.AddDays(-i).Month == now.Month) month += cost;
            deltas.Add(new UsageCounter(owner, grant, UsageKeys.Day(now.AddDays(-i)), 3 + i, 1200 + 100 * i, 400 + 50 * i, cost));
        }
        deltas.Add(new UsageCounter(owner, grant, UsageKeys.Month(now), 50, 20_000, 8_000, month));
        await store.AddAsync(deltas, CancellationToken.None);
        _ = JsonNode.Parse("{}");
    }
}
