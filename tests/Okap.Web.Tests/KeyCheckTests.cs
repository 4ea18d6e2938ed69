using Microsoft.Playwright;
using Okap.Testing;

namespace Okap.Web.Tests;

/// <summary>Saving a key in the page tries it with the provider first and says what the provider answered.</summary>
public sealed class KeyCheckTests(BrowserFixture browser) : ProviderWebTest(browser)
{
    protected override IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>
    {
        ["Okap:Proxy:Providers:groq:BaseUrl"] = "http://127.0.0.1:1/openai/v1",
    };

    [Fact]
    public async Task A_refused_key_is_explained_next_to_the_field_and_a_good_one_is_confirmed()
    {
        const string revoked = "sk-proj-REVOKEDkey-0000";
        Provider.RefusedKeys[revoked] = true;
        await SignedInAsync("#/keys");
        await Page.GetByLabel("Provider").SelectOptionAsync("openai");
        await Page.GetByLabel("API key").FillAsync(revoked);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save key" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("OpenAI refused this key (HTTP 401");
        await Expect(Page.GetByText("No provider keys yet.")).ToBeVisibleAsync();

        await Page.GetByLabel("API key").FillAsync("sk-proj-GOODkey-7777");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save key" }).ClickAsync();
        await Expect(Page.Locator(".toast")).ToContainTextAsync("OpenAI accepted the key ending in 7777");
        await Expect(Page.Locator("#keys-table tr[data-provider=openai]")).ToContainTextAsync("•••• 7777");

        await Page.GetByLabel("Provider").SelectOptionAsync("groq");
        await Page.GetByLabel("API key").FillAsync("gsk_OFFLINE-8888");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save key" }).ClickAsync();
        await Expect(Page.Locator(".toast-warn")).ToContainTextAsync("could not be checked: Groq could not be reached");
        await Expect(Page.Locator("#keys-table tr[data-provider=groq]")).ToContainTextAsync("•••• 8888");
        AssertNoPageProblems();
    }
}
