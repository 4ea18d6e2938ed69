using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Okap.Testing;

namespace Okap.Web.Tests;

/// <summary>
/// The whole story in one test: an app asks (Python SDK shape) and waits; the person signs in, narrows and approves
/// in the page; the app gets its token, calls a (fake) provider through the vault's proxy; the usage shows on the
/// dashboard; the person revokes the token in the page and the app's next call is refused.
/// </summary>
public sealed class FullFlowTests(BrowserFixture browser) : ProviderWebTest(browser)
{
    [Fact]
    public async Task Request_sign_in_approve_narrowed_call_through_proxy_see_usage_revoke_then_401()
    {
        var admin = await Server.CreateOwnerAsync(password: Password);
        await admin.SendAsync(HttpMethod.Put, "/okap/admin/keys/openai", new { key = "sk-master-key-0000WXYZ", label = "Personal" });
        using var app = Server.AppClient();
        var expires = DateTime.UtcNow.AddDays(60).ToString("yyyy-MM-dd");

        // 1. The app asks, in the Python SDK's shape; the vault holds the call open while the person decides.
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

        // 2. The person signs in and sees the request on the dashboard.
        await SignInAsync();
        var item = Page.Locator(".request-item", new() { HasText = "Notes Helper" });
        await Expect(item).ToBeVisibleAsync();
        await ShotAsync("flow-dashboard-pending");
        await item.GetByRole(AriaRole.Link, new() { Name = "Review" }).ClickAsync();

        // 3. Consent: who (claimed, unverified), why, what.
        await Expect(Page.Locator("#page-title")).ToHaveTextAsync("Notes Helper wants to use your keys");
        await Expect(Page.Locator("#req-app-url")).ToHaveTextAsync("https://notes.example.com");
        await Expect(Page.Locator("#req-client")).ToHaveTextAsync("127.0.0.1");
        await Expect(Page.GetByText("Claimed by the app, not verified.")).ToBeVisibleAsync();
        await Expect(Page.Locator("#req-reason")).ToHaveTextAsync("Summarise my meeting notes");
        await Expect(Page.Locator(".req-models")).ToHaveTextAsync("gpt-4o-mini, gpt-4o");
        await Expect(Page.Locator(".grant").First).ToContainTextAsync("$10.00 per month");
        await Expect(Page.Locator(".grant").First).ToContainTextAsync("$1.00 per day");
        await ShotAsync("consent");

        // 4. Narrow: drop one model, lower the monthly cap, shorten the expiry; approve.
        await Page.GetByRole(AriaRole.Button, new() { Name = "Edit before approving…" }).ClickAsync();
        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "gpt-4o", Exact = true }).UncheckAsync();
        await Page.Locator("input[data-limit=monthly_spend]").FillAsync("4.5");
        var shorter = DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd");
        await Page.Locator("input[type=date]").FillAsync(shorter);
        await ShotAsync("consent-narrow", fullPage: true);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Approve with these limits" }).ClickAsync();
        await Expect(Page.Locator(".badge-approved").First).ToBeVisibleAsync();

        // 5. The waiting app receives its token, narrowed.
        using var response = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(reply["approved"]!.GetValue<bool>(), reply.ToJsonString());
        var token = reply["token"]!;
        var secret = token["token"]!.GetValue<string>();
        var baseUrl = token["base_url"]!.GetValue<string>();
        Assert.StartsWith("okap_", secret);
        Assert.Equal($"{Server.Url}/v1/openai", baseUrl);
        Assert.Equal(["gpt-4o-mini"], token["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(4.5m, token["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(1.0m, token["limits"]!["daily_spend"]!.GetValue<decimal>());
        Assert.StartsWith(shorter, token["expires_at"]!.GetValue<string>());

        // 6. A call through the vault's proxy, as the OpenAI SDK makes it.
        using var ai = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        ai.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        ai.DefaultRequestHeaders.Add("x-fake-usage", "1200,300");   // the fake provider reports this usage
        var chat = new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "Hello" } } };
        using (var first = await ai.PostAsJsonAsync(baseUrl + "/chat/completions", chat))
        {
            var body = await first.Content.ReadAsStringAsync();
            Assert.True(first.StatusCode == HttpStatusCode.OK, body);
            Assert.Equal(1500, JsonNode.Parse(body)!["usage"]!["total_tokens"]!.GetValue<int>());
        }
        Assert.Equal("Bearer sk-master-key-0000WXYZ", Assert.Single(Provider.Seen, s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal)).Header("authorization"));

        // 7. Its usage appears on the dashboard (the proxy flushes counters every 200 ms here).
        await Page.Locator("#nav").GetByRole(AriaRole.Link, new() { Name = "Dashboard" }).ClickAsync();
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Dashboard");
        var totals = Page.Locator(".chart-totals");
        for (var i = 0; i < 20 && !(await totals.CountAsync() > 0 && (await totals.TextContentAsync())!.Contains("1,500 tokens", StringComparison.Ordinal)); i++)
        {
            await Page.WaitForTimeoutAsync(500);
            await Page.ReloadAsync();
        }
        await Expect(totals).ToContainTextAsync("1,500 tokens");
        await Expect(totals).ToContainTextAsync("1 request");
        await Expect(totals).Not.ToContainTextAsync("1 requests");
        await Expect(Page.Locator(".stat", new() { HasText = "Active tokens" })).ToContainTextAsync("1");
        await ShotAsync("flow-dashboard-usage");

        var card = await TokenCardAsync();
        await Expect(card).ToContainTextAsync("Monthly spend: $4.50 per month");
        await Expect(card.Locator(".meter", new() { HasText = "Requests today" })).ToContainTextAsync("1 · no cap");
        await Expect(card.Locator(".meter", new() { HasText = "Spend this month" })).ToContainTextAsync("of $4.50");
        await Expect(card.Locator(".fact", new() { HasText = "Last used" })).Not.ToContainTextAsync("Never");
        await ShotAsync("flow-tokens");

        // 8. Revoke in the page, with the in-page confirmation; the app's next call is refused.
        await card.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Revoke token" }).ClickAsync();
        await Expect(Page.Locator("article.token", new() { HasText = "Notes Helper" })).ToHaveCountAsync(0);
        HttpStatusCode status = default;
        string refusal = "";
        for (var i = 0; i < 30; i++)
        {
            using var next = await ai.PostAsJsonAsync(baseUrl + "/chat/completions", chat);
            status = next.StatusCode;
            refusal = await next.Content.ReadAsStringAsync();
            if (status == HttpStatusCode.Unauthorized) break;
            await Task.Delay(200);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("token_revoked", JsonNode.Parse(refusal)!["error"]!["type"]!.GetValue<string>());
        AssertNoPageProblems();
    }

    private async Task<ILocator> TokenCardAsync()
    {
        await Page.Locator("#nav").GetByRole(AriaRole.Link, new() { Name = "Apps & tokens" }).ClickAsync();
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Apps & tokens");
        var card = Page.Locator("article.token", new() { HasText = "Notes Helper" });
        await Expect(card).ToBeVisibleAsync();
        return card;
    }
}
