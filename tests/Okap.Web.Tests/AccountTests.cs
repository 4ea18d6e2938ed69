using System.Net;
using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>First-run setup, sign-in errors, sign-out, and the vault URL.</summary>
public sealed class AccountTests(BrowserFixture browser) : WebTest(browser)
{
    [Fact]
    public async Task First_run_setup_checks_the_password_and_the_link_works_once()
    {
        var token = await Server.SetupTokenAsync();
        await Page.GotoAsync("/");
        await Expect(Page.GetByText("This vault has no account yet.")).ToBeVisibleAsync();

        await Page.GotoAsync("/#/setup?token=" + token);
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Set up your vault");
        await Page.GetByLabel("User name").FillAsync("alice");
        await Page.GetByLabel("Password", new() { Exact = true }).FillAsync("too short");
        await Page.GetByLabel("Repeat the password").FillAsync("too short");
        await Expect(Page.GetByText("9 of at least 12 characters")).ToBeVisibleAsync();
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("at least 12 characters");
        await Expect(Page.GetByLabel("Password", new() { Exact = true })).ToHaveAttributeAsync("aria-invalid", "true");

        await Page.GetByLabel("Password", new() { Exact = true }).FillAsync(Password);
        await Page.GetByLabel("Repeat the password").FillAsync(Password + "!");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("The two passwords differ.");

        await Page.GetByLabel("Repeat the password").FillAsync(Password);
        await ShotAsync("setup");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Provider keys");
        await Expect(Page.Locator("#account-name")).ToHaveTextAsync("alice");

        // Sign out; the link does not work again.
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Sign in to your vault");
        // A fresh load, as a link opened from a message is: a hash-only navigation can race the sign-out's own render.
        await Page.GotoAsync("/#/setup?token=" + token);
        await Page.ReloadAsync();
        await Page.GetByLabel("User name").FillAsync("mallory");
        await Page.GetByLabel("Password", new() { Exact = true }).FillAsync(Password);
        await Page.GetByLabel("Repeat the password").FillAsync(Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("invalid or was already used");
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Sign_in_errors_are_clear_and_sign_out_ends_the_session()
    {
        await Server.CreateOwnerAsync(password: Password);
        await Page.GotoAsync("/");
        await Page.GetByLabel("User name").FillAsync("alice");
        await Page.GetByLabel("Password").FillAsync("not the password");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToHaveTextAsync("Wrong user name or password.");
        await Expect(Page.GetByLabel("Password")).ToHaveValueAsync("");
        await ShotAsync("sign-in");

        // Keyboard only: type and press Enter.
        await Page.GetByLabel("Password").FillAsync(Password);
        await Page.GetByLabel("Password").PressAsync("Enter");
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Dashboard");
        await Expect(Page.Locator("#vault-url")).ToHaveTextAsync(Server.Url);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Connect an app" }).ClickAsync();
        await Expect(Page.Locator("pre").First).ToContainTextAsync($"vault_url=\"{Server.Url}\"");
        await ShotAsync("connect");

        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Sign in to your vault");
        var status = await Page.EvaluateAsync<int>("async () => (await fetch('/okap/admin/keys', { credentials: 'same-origin' })).status");
        Assert.Equal((int)HttpStatusCode.Unauthorized, status);
        AssertNoPageProblems();
    }

    [Fact]
    public async Task A_consent_link_opened_signed_out_returns_to_the_request_after_sign_in()
    {
        await Server.CreateOwnerAsync(password: Password);
        var id = await AuthorizeAsync("Link Follower", "Opened from the approve_url");
        await Page.GotoAsync("/#/requests/" + id);
        await Expect(Page.GetByText("Sign in to review the access request an app sent you.")).ToBeVisibleAsync();
        await Page.GetByLabel("User name").FillAsync("alice");
        await Page.GetByLabel("Password").FillAsync(Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(Page.Locator("#req-app-name")).ToHaveTextAsync("Link Follower");
    }
}
