using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>The consent screen: an app's request, decided by a person in the page.</summary>
public sealed class ConsentTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task Full_flow_request_sign_in_approve_narrowed_token_reaches_the_waiting_app()
    {
        await Server.CreateOwnerAsync(password: Password);
        using var app = Server.AppClient();
        var expires = DateTime.UtcNow.AddDays(60).ToString("yyyy-MM-dd");

        // The app asks, in the Python SDK's shape; the vault holds the call open while the person decides.
        var waiting = StartSdkRequest(app, new
        {
            okap = "1.0",
            provider = "openai",
            models = new[] { "gpt-4o-mini", "gpt-4o" },
            capabilities = new[] { "chat" },
            limits = new { monthly_spend = 10.0, daily_spend = 1.0, requests_per_minute = 60 },
            expires,
            reason = "Summarise my meeting notes",
            app_name = "Notes Helper",
            app_url = "https://notes.example.com",
        });

        // The person signs in and sees the request on the dashboard.
        await SignInAsync();
        var item = Page.Locator(".request-item", new() { HasText = "Notes Helper" });
        await Expect(item).ToBeVisibleAsync();
        await ShotAsync("dashboard-pending");
        await item.GetByRole(AriaRole.Link, new() { Name = "Review" }).ClickAsync();

        // Consent: who (claimed, unverified), why, what.
        await Expect(Page.Locator("#page-title")).ToHaveTextAsync("Notes Helper wants to use your keys");
        await Expect(Page.Locator("#req-app-url")).ToHaveTextAsync("https://notes.example.com");
        await Expect(Page.Locator("#req-client")).ToHaveTextAsync("127.0.0.1");
        await Expect(Page.GetByText("Claimed by the app, not verified.")).ToBeVisibleAsync();
        await Expect(Page.Locator("#req-reason")).ToHaveTextAsync("Summarise my meeting notes");
        await Expect(Page.Locator(".req-models")).ToHaveTextAsync("gpt-4o-mini, gpt-4o");
        await Expect(Page.Locator(".grant").First).ToContainTextAsync("$10.00 per month");
        await Expect(Page.Locator(".grant").First).ToContainTextAsync("$1.00 per day");
        await ShotAsync("consent");

        // Narrow: drop one model, lower the monthly cap, shorten the expiry.
        await Page.GetByRole(AriaRole.Button, new() { Name = "Edit before approving…" }).ClickAsync();
        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "gpt-4o", Exact = true }).UncheckAsync();
        await Page.Locator("input[data-limit=monthly_spend]").FillAsync("4.5");
        var shorter = DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd");
        await Page.Locator("input[type=date]").FillAsync(shorter);
        await ShotAsync("consent-narrow", fullPage: true);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Approve with these limits" }).ClickAsync();
        await Expect(Page.Locator(".badge-approved").First).ToBeVisibleAsync();

        // The waiting app receives its token, narrowed.
        using var response = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(reply["approved"]!.GetValue<bool>(), reply.ToJsonString());
        var token = reply["token"]!;
        Assert.StartsWith("okap_", token["token"]!.GetValue<string>());
        Assert.Equal($"{Server.Url}/v1/openai", token["base_url"]!.GetValue<string>());
        Assert.Equal(["gpt-4o-mini"], token["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(4.5m, token["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(1.0m, token["limits"]!["daily_spend"]!.GetValue<decimal>());
        Assert.StartsWith(shorter, token["expires_at"]!.GetValue<string>());

        // The token is on the tokens page with its limits.
        await Page.GetByRole(AriaRole.Link, new() { Name = "Apps & tokens" }).ClickAsync();
        var card = Page.Locator("article.token", new() { HasText = "Notes Helper" });
        await Expect(card).ToContainTextAsync("Monthly spend: $4.50 per month");
        await Expect(card.Locator(".meter").First).ToBeVisibleAsync();
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Deny_with_a_reason_reaches_the_waiting_app()
    {
        await Server.CreateOwnerAsync(password: Password);
        using var app = Server.AppClient();
        var waiting = StartSdkRequest(app, new { okap = "1.0", provider = "anthropic", models = Array.Empty<string>(), capabilities = new[] { "chat" },
            reason = "Please", app_name = "Pushy App" });
        await SignInAsync();
        await Page.Locator(".request-item", new() { HasText = "Pushy App" }).GetByRole(AriaRole.Link, new() { Name = "Review" }).ClickAsync();
        await Expect(Page.Locator(".req-models")).ToHaveTextAsync("All models");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Deny…" }).ClickAsync();
        await Page.GetByLabel("Reason for the app (optional)").FillAsync("I do not know this app");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Deny request" }).ClickAsync();
        await Expect(Page.Locator(".badge-denied")).ToBeVisibleAsync();
        await Expect(Page.GetByText("I do not know this app")).ToBeVisibleAsync();

        using var response = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.False(reply["approved"]!.GetValue<bool>());
        Assert.Equal("I do not know this app", reply["error"]!.GetValue<string>());

        // The dashboard no longer lists it.
        await Page.GotoAsync("/#/");
        await Expect(Page.GetByText("No requests are waiting.")).ToBeVisibleAsync();
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Pending_requests_appear_on_the_dashboard_without_a_reload()
    {
        await SignedInAsync();
        await Expect(Page.GetByText("No requests are waiting.")).ToBeVisibleAsync();
        await ShotAsync("dashboard-empty");
        await AuthorizeAsync("Late Arrival", "Appears while the page is open");
        await Expect(Page.Locator(".request-item", new() { HasText = "Late Arrival" })).ToBeVisibleAsync(new() { Timeout = 6_000 });
        await Expect(Page.Locator("#pending-count")).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task Narrowing_wider_than_asked_is_refused_in_the_page()
    {
        await SignedInAsync();
        var id = await AuthorizeAsync("Greedy");
        await Page.GotoAsync("/#/requests/" + id);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Edit before approving…" }).ClickAsync();
        await Page.Locator("input[data-limit=monthly_spend]").FillAsync("50");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Approve with these limits" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("Monthly spend: at most $5.00");
        await Page.Locator("input[data-limit=monthly_spend]").FillAsync("");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Approve with these limits" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("you can lower it but not remove it");
        await Expect(Page.Locator(".badge-pending")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task App_supplied_text_is_rendered_as_text_never_as_markup()
    {
        const string payload = "<img src=x onerror=window.__xss=1>";
        await SignedInAsync();
        var (id, poll) = await AuthorizeWithPollAsync(payload + "App", "Reason " + payload, url: "https://evil.example/\"><script>window.__xss=2</script>");
        var item = Page.Locator(".request-item").First;
        await Expect(item).ToContainTextAsync(payload + "App");
        await Expect(item).ToContainTextAsync("Reason " + payload);
        await Page.GotoAsync("/#/requests/" + id);
        await Expect(Page.Locator("#req-app-name")).ToHaveTextAsync(payload + "App");
        await Expect(Page.Locator("#req-reason")).ToHaveTextAsync("Reason " + payload);
        await Expect(Page.Locator("#page-title")).ToContainTextAsync(payload);
        Assert.Equal(0, await Page.Locator("#app img").CountAsync());
        Assert.Equal(0, await Page.Locator("#app script").CountAsync());
        await ShotAsync("consent-xss");

        // Approve it, so the name also shows on the tokens and audit pages.
        await Page.GetByRole(AriaRole.Button, new() { Name = "Approve as asked" }).ClickAsync();
        await Expect(Page.Locator(".badge-approved").First).ToBeVisibleAsync();
        Assert.Equal("granted", (await PollAsync(poll))["status"]!.GetValue<string>());
        await Page.GotoAsync("/#/tokens");
        await Expect(Page.Locator(".token-app")).ToHaveTextAsync(payload + "App");
        await Page.GotoAsync("/#/audit");
        await Expect(Page.Locator("#audit-table")).ToContainTextAsync(payload + "App");
        Assert.Equal(0, await Page.Locator("#app img").CountAsync());
        Assert.Equal("undefined", await Page.EvaluateAsync<string>("() => typeof window.__xss"));
        AssertNoPageProblems();
    }
}
