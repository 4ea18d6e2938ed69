using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Okap.Testing;

namespace Okap.Web.Tests;

/// <summary>The dashboard keeps its figures current while it is open, and says which app spends what.</summary>
public sealed class DashboardTests(BrowserFixture browser) : ProviderWebTest(browser)
{
    private async Task<string> TokenForAsync(string appName)
    {
        using var app = Server.AppClient();
        using var response = await app.PostAsJsonAsync("/okap/request", new
        {
            okap = "1.0", provider = "openai", models = new[] { "gpt-4o-mini" }, capabilities = new[] { "chat" },
            limits = new { monthly_spend = 10.0 }, app_name = appName, reason = "dashboard test",
        });
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["token"]!["token"]!.GetValue<string>();
    }

    private async Task CallAsync(string token, int calls, int outputTokens)
    {
        using var ai = Server.AppClient();
        ai.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        for (var i = 0; i < calls; i++)
        {
            using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
            {
                Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }),
            };
            call.Headers.Add("x-fake-usage", $"1000,{outputTokens}");
            using var response = await ai.SendAsync(call);
            response.EnsureSuccessStatusCode();
        }
    }

    [Fact]
    public async Task Spend_appears_without_a_reload_and_is_broken_down_by_app()
    {
        var admin = await Server.CreateOwnerAsync(password: Password);
        await admin.SendAsync(HttpMethod.Put, "/okap/admin/keys/openai", new { key = "sk-dashboard-0001" });
        await admin.SendAsync(HttpMethod.Post, "/okap/admin/policies", new { name = "any", providers = new[] { "openai" } });
        var writer = await TokenForAsync("Busy Writer");
        var reader = await TokenForAsync("Quiet Reader");
        await SignInAsync();
        await Expect(Page.GetByText("No usage yet.")).ToBeVisibleAsync();
        await Expect(Page.Locator("#stat-spend .stat-value")).ToHaveTextAsync("$0.00");
        var navigations = 0;
        Page.FrameNavigated += (_, f) => { if (f == Page.MainFrame) navigations++; };

        await CallAsync(writer, 3, 20_000);
        await CallAsync(reader, 1, 10);

        var table = Page.Locator("#spend-by-app");
        await Expect(table).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Expect(table.Locator("tbody tr")).ToHaveCountAsync(2);
        await Expect(table.Locator("tbody tr").First).ToContainTextAsync("Busy Writer");
        await Expect(table.Locator("tbody tr").Nth(1)).ToContainTextAsync("Quiet Reader");
        await Expect(table.Locator("tbody tr").First).ToContainTextAsync("3");
        await Expect(Page.Locator("#stat-spend .stat-value")).Not.ToHaveTextAsync("$0.00");
        Assert.Equal(0, navigations);
        await ShotAsync("dashboard-spend-by-app");
        AssertNoPageProblems();
    }
}
