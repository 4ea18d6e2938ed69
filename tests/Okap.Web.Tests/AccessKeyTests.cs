using System.Net;
using System.Net.Http.Headers;
using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>Personal access keys: created and shown once (with copy), then revoked.</summary>
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
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create access key" }).ClickAsync();
        var secret = await Page.Locator("#pat-secret").TextContentAsync();
        Assert.StartsWith("okap_pat_", secret);
        await Expect(Page.GetByText("Copy this key now: it is shown only once.")).ToBeVisibleAsync();
        await Page.Locator(".notice-ok").GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await Expect(Page.Locator(".notice-ok").GetByRole(AriaRole.Button, new() { Name = "Copied" })).ToBeVisibleAsync();
        Assert.Equal(secret, await Page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await Expect(Page.Locator("#pat-table tbody tr")).ToHaveCountAsync(1);
        await ShotAsync("access-keys");

        using var http = Server.AppClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/okap/admin/keys")).StatusCode);

        // Shown once: after a reload only the prefix remains.
        await Page.ReloadAsync();
        await Expect(Page.Locator("#pat-table tbody tr")).ToHaveCountAsync(1);
        Assert.DoesNotContain(secret!, await Page.ContentAsync());

        await Page.GetByRole(AriaRole.Button, new() { Name = "Revoke access key laptop CLI" }).ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Revoke key" }).ClickAsync();
        await Expect(Page.Locator("#pat-table .badge-revoked")).ToBeVisibleAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/okap/admin/keys")).StatusCode);
        AssertNoPageProblems();
    }
}
