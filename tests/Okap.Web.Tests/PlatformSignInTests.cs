using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>Hosted on Azure behind App Service Authentication: the page signs in and out through the platform.</summary>
public sealed class PlatformSignInTests(BrowserFixture browser) : WebTest(browser)
{
    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["Okap:Auth:TrustAppServicePrincipal"] = "true" };

    [Fact]
    public async Task Signed_out_person_is_offered_the_platform_sign_in_and_no_local_form()
    {
        await Page.GotoAsync("/");
        var button = Page.Locator("#platform-sign-in");
        await Expect(button).ToHaveAttributeAsync("href", "/.auth/login/aad?post_login_redirect_uri=/");
        await Expect(Page.GetByLabel("Password")).ToHaveCountAsync(0);
        await Expect(Page.GetByText("This vault has no account yet.")).ToHaveCountAsync(0);
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Platform_signed_in_person_uses_the_vault_and_signs_out_through_the_platform()
    {
        // What App Service Authentication adds to every request of a signed-in person.
        var principal = Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["auth_typ"] = "aad",
            ["claims"] = new JsonArray(
                new JsonObject { ["typ"] = "http://schemas.microsoft.com/identity/claims/objectidentifier", ["val"] = "oid-alice" },
                new JsonObject { ["typ"] = "name", ["val"] = "alice@example.com" }),
        }.ToJsonString()));
        await Context.SetExtraHTTPHeadersAsync(new Dictionary<string, string> { ["X-MS-CLIENT-PRINCIPAL"] = principal });

        await Page.GotoAsync("/#/keys");
        await Expect(Page.Locator("#account-name")).ToHaveTextAsync("alice@example.com");
        await Page.GetByLabel("Provider").SelectOptionAsync("anthropic");
        await Page.GetByLabel("API key").FillAsync("sk-ant-platform-0000WXYZ");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save key" }).ClickAsync();
        await Expect(Page.Locator("#keys-table tr[data-provider=anthropic]")).ToContainTextAsync("•••• WXYZ");

        var navigation = Page.WaitForRequestAsync(r => r.Url.Contains("/.auth/logout", StringComparison.Ordinal));
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        Assert.Contains("post_logout_redirect_uri=/", (await navigation).Url);
    }
}
