using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>Personal access keys: created with scopes and expiry and shown once (with copy), listed with scopes and last use, then revoked; the audit view names the key.</summary>
public sealed class AccessKeyTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task Create_shows_the_secret_once_copy_works_and_revoke_ends_it()
    {
        await SignedInAsync("#/access-keys");
        await Expect(Page.GetByText("No access keys.")).ToBeVisibleAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create access key" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("Give the key a name");

        await Page.GetByLabel("Name").FillAsync("laptop CLI");
        await Page.Locator("#pat-scope-read").UncheckAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create access key" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("Tick at least one");
        await Page.Locator("#pat-scope-read").CheckAsync();
        await Page.Locator("#pat-scope-keys").CheckAsync();
        await Page.GetByLabel("Expires after (days)").FillAsync("30");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create access key" }).ClickAsync();
        var secret = await Page.Locator("#pat-secret").TextContentAsync();
        Assert.StartsWith("okap_pat_", secret);
        await Expect(Page.GetByText("Copy this key now: it is shown only once.")).ToBeVisibleAsync();
        await Page.Locator(".notice-ok").GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await Expect(Page.Locator(".notice-ok").GetByRole(AriaRole.Button, new() { Name = "Copied" })).ToBeVisibleAsync();
        Assert.Equal(secret, await Page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await Expect(Page.Locator("#pat-table tbody tr")).ToHaveCountAsync(1);
        await Expect(Page.Locator("#pat-table .pat-scopes")).ToHaveTextAsync("read, keys");
        await Expect(Page.Locator("#pat-table .pat-last-used")).ToHaveTextAsync("Never");
        await Expect(Page.Locator("#pat-table tbody tr")).ToContainTextAsync(DateTime.UtcNow.AddDays(30).ToString("yyyy", System.Globalization.CultureInfo.InvariantCulture));
        await ShotAsync("access-keys");

        using var http = Server.AppClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/okap/admin/keys")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/okap/admin/policies", new { name = "made by the key", app_name = "a", providers = new[] { "openai" } })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PostAsync("/okap/admin/requests/req_x/approve", null)).StatusCode);

        // Shown once: after a reload only the prefix remains, and the key's use shows.
        await Page.ReloadAsync();
        await Expect(Page.Locator("#pat-table tbody tr")).ToHaveCountAsync(1);
        await Expect(Page.Locator("#pat-table .pat-last-used")).Not.ToHaveTextAsync("Never");
        Assert.DoesNotContain(secret!, await Page.ContentAsync());

        // The audit view says which credential acted.
        await Page.GotoAsync("/#/audit");
        var byKey = Page.Locator("#audit-table tbody tr", new() { HasText = "made by the key" });
        await Expect(byKey.Locator(".audit-actor")).ToContainTextAsync("access_key:pat_");
        await Expect(byKey.Locator(".audit-actor")).ToContainTextAsync("(laptop CLI)");
        await Expect(Page.Locator("#audit-table tbody tr", new() { HasText = "access_key.created" }).Locator(".audit-actor")).ToContainTextAsync("session:ses_");
        Assert.DoesNotContain(secret!, await Page.ContentAsync());
        await Page.GotoAsync("/#/access-keys");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Revoke access key laptop CLI" }).ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Revoke key" }).ClickAsync();
        await Expect(Page.Locator("#pat-table .badge-revoked")).ToBeVisibleAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/okap/admin/keys")).StatusCode);
        AssertNoPageProblems();
    }
}
