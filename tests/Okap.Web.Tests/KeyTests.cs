using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>Provider keys: add, replace, remove; only the last four characters ever reach the page.</summary>
public sealed class KeyTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task Add_replace_remove_a_key_showing_only_its_last_four()
    {
        await SignedInAsync("#/keys");
        var unsafeWrites = new List<string>();
        Page.Request += (_, r) =>
        {
            if (r.Method != "GET" && r.Url.Contains("/okap/admin/", StringComparison.Ordinal) && !r.Headers.ContainsKey("x-csrf-token")) unsafeWrites.Add(r.Method + " " + r.Url);
        };
        await Expect(Page.GetByText("No provider keys yet.")).ToBeVisibleAsync();

        const string first = "sk-proj-FIRSTSECRETvalue-abcd1234WXYZ";
        var keyInput = Page.GetByLabel("API key");
        Assert.Equal("password", await keyInput.GetAttributeAsync("type"));
        await Page.GetByLabel("Provider").SelectOptionAsync("openai");
        await Page.GetByLabel("Label (optional)").FillAsync("Personal");
        await keyInput.FillAsync(first);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save key" }).ClickAsync();
        var row = Page.Locator("#keys-table tr[data-provider=openai]");
        await Expect(row).ToContainTextAsync("•••• WXYZ");
        await Expect(row).ToContainTextAsync("Personal");
        await Expect(keyInput).ToHaveValueAsync("");
        Assert.DoesNotContain("FIRSTSECRET", await Page.ContentAsync());

        // Replace it.
        const string second = "sk-proj-SECONDsecret-9876";
        await row.GetByRole(AriaRole.Button, new() { Name = "Replace the OpenAI key" }).ClickAsync();
        await Expect(keyInput).ToBeFocusedAsync();
        await keyInput.FillAsync(second);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Replace OpenAI key" }).ClickAsync();
        await Expect(row).ToContainTextAsync("•••• 9876");
        await Expect(Page.Locator("#keys-table tbody tr")).ToHaveCountAsync(1);
        await Expect(keyInput).ToHaveValueAsync("");

        // A second provider.
        await Page.GetByLabel("Provider").SelectOptionAsync("anthropic");
        await keyInput.FillAsync("sk-ant-THIRDsecret-5555");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save key" }).ClickAsync();
        await Expect(Page.Locator("#keys-table tbody tr")).ToHaveCountAsync(2);
        var html = await Page.ContentAsync();
        Assert.DoesNotContain("SECONDsecret", html);
        Assert.DoesNotContain("THIRDsecret", html);
        await ShotAsync("keys");

        // Remove, after the in-page confirmation.
        await row.GetByRole(AriaRole.Button, new() { Name = "Remove the OpenAI key" }).ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Remove key" }).ClickAsync();
        await Expect(Page.Locator("#keys-table tr[data-provider=openai]")).ToHaveCountAsync(0);
        await Expect(Page.Locator("#keys-table tbody tr")).ToHaveCountAsync(1);

        // Errors are shown: a missing key.
        await Page.GetByLabel("Provider").SelectOptionAsync("groq");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save key" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToHaveTextAsync("Paste the provider's API key.");
        Assert.Empty(unsafeWrites);
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Writes_without_the_anti_forgery_header_are_refused()
    {
        await SignedInAsync("#/keys");
        var status = await Page.EvaluateAsync<int>("""
            async () => (await fetch('/okap/admin/keys/openai', { method: 'PUT', credentials: 'same-origin',
              headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key: 'sk-x-1234' }) })).status
            """);
        Assert.Equal(403, status);
        _ = JsonNode.Parse("{}");
    }
}
