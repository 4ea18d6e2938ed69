using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>Auto-approve rules: list, add, edit, remove.</summary>
public sealed class PolicyTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task Add_edit_and_remove_a_rule()
    {
        var admin = await SignedInAsync("#/policies");
        await Expect(Page.GetByText("No rules: every request waits for your decision.")).ToBeVisibleAsync();

        await Page.GetByLabel("Rule name").FillAsync("My scripts");
        await Page.GetByLabel("Only for the app named (optional)").FillAsync("cli-tool");
        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "Anthropic" }).CheckAsync();
        await Page.GetByLabel("Models (comma-separated; empty for any)").FillAsync("gpt-4o-mini, claude-3-5-haiku");
        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "chat", Exact = true }).CheckAsync();
        await Page.Locator("#policy-monthly_spend").FillAsync("2");
        await Page.GetByLabel("Longest token lifetime (days)").FillAsync("7");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();

        var rule = Page.Locator("li.policy", new() { HasText = "My scripts" });
        await Expect(rule).ToContainTextAsync("Monthly spend: $2.00 per month");
        await Expect(rule).ToContainTextAsync("named “cli-tool”");
        await Expect(rule).ToContainTextAsync("OpenAI, Anthropic");
        await Expect(rule).ToContainTextAsync("7 days");
        await Expect(rule.Locator(".badge-enabled")).ToBeVisibleAsync();
        await ShotAsync("policies");

        // Edit: rename, disable, raise the cap.
        await rule.GetByRole(AriaRole.Button, new() { Name = "Edit rule My scripts" }).ClickAsync();
        await Expect(Page.GetByLabel("Rule name")).ToHaveValueAsync("My scripts");
        await Page.GetByLabel("Rule name").FillAsync("My scripts (paused)");
        await Page.Locator("#policy-monthly_spend").FillAsync("3.5");
        await Page.GetByLabel("Rule is enabled").UncheckAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        var edited = Page.Locator("li.policy", new() { HasText = "My scripts (paused)" });
        await Expect(edited.Locator(".badge-disabled")).ToBeVisibleAsync();
        await Expect(edited).ToContainTextAsync("Monthly spend: $3.50 per month");
        await Expect(Page.Locator("li.policy")).ToHaveCountAsync(1);

        var stored = (await admin.GetAsync("/okap/admin/policies"))!.AsArray();
        Assert.Single(stored);
        Assert.False(stored[0]!["enabled"]!.GetValue<bool>());
        Assert.Equal(["gpt-4o-mini", "claude-3-5-haiku"], stored[0]!["models"]!.AsArray().Select(m => m!.GetValue<string>()));

        // A rule without a provider is refused with a clear message.
        await Page.GetByLabel("Rule name").FillAsync("Nothing");
        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "OpenAI" }).UncheckAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToHaveTextAsync("Tick at least one provider.");

        // Remove.
        await edited.GetByRole(AriaRole.Button, new() { Name = "Remove rule My scripts (paused)" }).ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Remove rule" }).ClickAsync();
        await Expect(Page.GetByText("No rules: every request waits for your decision.")).ToBeVisibleAsync();
        Assert.Empty((await admin.GetAsync("/okap/admin/policies"))!.AsArray());
        AssertNoPageProblems();
    }
}
