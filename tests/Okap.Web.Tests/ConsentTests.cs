using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>The consent screen: an app's request, decided by a person in the page.</summary>
public sealed class ConsentTests(BrowserFixture browser) : WebTest(browser)
{
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

    [Fact]
    public async Task Consent_warns_about_a_provider_the_owner_holds_no_key_for()
    {
        var admin = await SignedInAsync();
        await admin.SendAsync(HttpMethod.Put, "/okap/admin/keys/openai", new { key = "sk-test-openai-0000000000000000" });
        var openai = await AuthorizeAsync("Has A Key", provider: "openai");
        var anthropic = await AuthorizeAsync("Needs A Key", provider: "anthropic");

        await Page.GotoAsync("/#/requests/" + anthropic);
        var warning = Page.Locator(".missing-key[data-provider=anthropic]");
        await Expect(warning).ToContainTextAsync("You have no Anthropic key in this vault");
        await Expect(warning.GetByRole(AriaRole.Link, new() { Name = "add one" })).ToHaveAttributeAsync("href", "#/keys");
        await Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Approve as asked" })).ToBeVisibleAsync();

        await Page.GotoAsync("/#/requests/" + openai);
        await Expect(Page.Locator(".badge-pending")).ToBeVisibleAsync();
        await Expect(Page.Locator(".missing-key")).ToHaveCountAsync(0);
        AssertNoPageProblems();
    }

    [Fact]
    public async Task The_tab_title_counts_pending_requests()
    {
        await SignedInAsync();
        await Expect(Page).ToHaveTitleAsync("Dashboard · OKAP Vault");
        var first = await AuthorizeAsync("First");
        await Expect(Page).ToHaveTitleAsync("(1) Dashboard · OKAP Vault", new() { Timeout = 6_000 });
        await AuthorizeAsync("Second");
        await Expect(Page).ToHaveTitleAsync("(2) Dashboard · OKAP Vault", new() { Timeout = 6_000 });

        await Page.GotoAsync("/#/requests/" + first);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Deny…" }).ClickAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Deny request" }).ClickAsync();
        await Expect(Page.Locator(".badge-denied")).ToBeVisibleAsync();
        await Expect(Page).ToHaveTitleAsync(new System.Text.RegularExpressions.Regex(@"^\(1\) "), new() { Timeout = 6_000 });
    }
}
