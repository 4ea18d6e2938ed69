using Microsoft.Playwright;
using OtpNet;

namespace Okap.Web.Tests;

/// <summary>
/// The Security screen in Chromium: a passkey made by a virtual authenticator (CDP WebAuthn) signs in without a
/// password, the authenticator app becomes a second factor, and signing out everywhere ends the other browsers.
/// WebAuthn needs a host name, so these pages are opened at http://localhost, not 127.0.0.1.
/// </summary>
public sealed class SecurityTests(BrowserFixture browser) : WebTest(browser)
{
    private readonly BrowserFixture _browser = browser;

    private string LocalhostUrl => Server.Url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);

    private async Task<IPage> LocalhostPageAsync()
    {
        var context = await _browser.Browser.NewContextAsync(new() { ViewportSize = Viewport, BaseURL = LocalhostUrl, Locale = "en-US", TimezoneId = "UTC" });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        page.PageError += (_, e) => PageProblems.Add("page error: " + e);
        return page;
    }

    private static async Task SignInOnAsync(IPage page, string password = Password)
    {
        await page.GotoAsync("/#/");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to your vault" })).ToBeVisibleAsync();
        await page.GetByLabel("User name").FillAsync("alice");
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
    }

    [Fact]
    public async Task A_passkey_added_on_the_security_screen_signs_in_without_a_password_and_then_the_password_alone_does_not()
    {
        await Server.CreateOwnerAsync(password: Password);
        var page = await LocalhostPageAsync();
        var cdp = await page.Context.NewCDPSessionAsync(page);
        await cdp.SendAsync("WebAuthn.enable");
        await cdp.SendAsync("WebAuthn.addVirtualAuthenticator", new Dictionary<string, object>
        {
            ["options"] = new Dictionary<string, object>
            {
                ["protocol"] = "ctap2", ["transport"] = "internal", ["hasResidentKey"] = true,
                ["hasUserVerification"] = true, ["isUserVerified"] = true, ["automaticPresenceSimulation"] = true,
            },
        });
        await SignInOnAsync(page);
        await Expect(page.Locator("#topbar")).ToBeVisibleAsync();
        await page.GotoAsync("/#/security");
        // The API client that created the owner is signed in too.
        await Expect(page.Locator("#sessions-table tbody tr")).ToHaveCountAsync(2);

        await page.Locator("#passkey-name").FillAsync("test laptop");
        await page.Locator("#passkey-password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add a passkey" }).ClickAsync();
        await Expect(page.Locator("#passkey-list li")).ToContainTextAsync("test laptop");
        var codes = (await page.Locator("#recovery-codes").TextContentAsync())!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, codes.Length);
        await Expect(page.Locator("#recovery-left")).ToContainTextAsync("10 of 10");
        await page.EvaluateAsync("window.scrollTo(0, 0)");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Paths.Screenshots, "security-passkey.png"), FullPage = true });

        await page.Locator("#sign-out").ClickAsync();
        await Expect(page.Locator("#passkey-sign-in")).ToBeVisibleAsync();
        await page.Locator("#passkey-sign-in").ClickAsync();
        await Expect(page.Locator("#topbar")).ToBeVisibleAsync();
        await page.GotoAsync("/#/security");
        await Expect(page.Locator("#sessions-table tr.current")).ToContainTextAsync("passkey");
        await Expect(page.Locator("#passkey-list li")).Not.ToContainTextAsync("not used yet");

        // With a passkey on the account, the password alone no longer signs in; a recovery code does, once.
        await page.Locator("#sign-out").ClickAsync();
        await SignInOnAsync(page);
        await Expect(page.Locator(".form-error")).ToContainTextAsync("signs in with a passkey");
        await page.Locator("#sign-in-code").FillAsync(codes[0]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.Locator("#topbar")).ToBeVisibleAsync();
        await page.Locator("#sign-out").ClickAsync();
        await SignInOnAsync(page);
        await Expect(page.Locator(".form-error")).ToContainTextAsync("signs in with a passkey");
        await page.Locator("#sign-in-code").FillAsync(codes[0]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.Locator(".form-error")).ToContainTextAsync("wrong or was already used");
        await Expect(page.Locator("#topbar")).ToBeHiddenAsync();

        // Removing the passkey asks for the password; then the password alone signs in again.
        await page.Locator("#sign-in-code").FillAsync(codes[1]);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(page.Locator("#topbar")).ToBeVisibleAsync();
        await page.GotoAsync("/#/security");
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove passkey test laptop" }).ClickAsync();
        await page.Locator("#passkey-remove-password").FillAsync("not the password at all");
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove passkey", Exact = true }).ClickAsync();
        await Expect(page.Locator("#passkey-list").Locator(".form-error")).ToContainTextAsync("password");
        await page.Locator("#passkey-remove-password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove passkey", Exact = true }).ClickAsync();
        await Expect(page.GetByText("No passkeys yet.")).ToBeVisibleAsync();
        await page.Locator("#sign-out").ClickAsync();
        await SignInOnAsync(page);
        await Expect(page.Locator("#topbar")).ToBeVisibleAsync();
        Assert.True(PageProblems.Count == 0, string.Join("\n", PageProblems));
        await page.Context.DisposeAsync();
    }

    [Fact]
    public async Task Turning_on_the_authenticator_app_asks_for_its_code_at_the_next_sign_in()
    {
        await SignedInAsync("#/security");
        await Page.Locator("#totp-password").FillAsync(Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Set up an authenticator app" }).ClickAsync();
        var secret = await Page.Locator("#totp-secret").TextContentAsync();
        await Expect(Page.Locator("#totp-uri")).ToHaveAttributeAsync("href", new System.Text.RegularExpressions.Regex("^otpauth://totp/OKAP%20Vault:alice\\?secret=" + secret));
        var totp = new Totp(Base32Encoding.ToBytes(secret));
        await Page.Locator("#totp-code").FillAsync(totp.ComputeTotp());
        await Page.GetByRole(AriaRole.Button, new() { Name = "Turn on" }).ClickAsync();
        await Expect(Page.Locator("#recovery-codes")).ToBeVisibleAsync();
        await Expect(Page.GetByText("On: signing in with your password also asks for a code")).ToBeVisibleAsync();
        await ShotAsync("security-totp");

        await Page.Locator("#sign-out").ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to your vault" })).ToBeVisibleAsync();
        await Page.GetByLabel("User name").FillAsync("alice");
        await Page.GetByLabel("Password").FillAsync(Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(Page.Locator(".form-error")).ToContainTextAsync("Enter the code from your authenticator app");
        await Expect(Page.Locator("#topbar")).ToBeHiddenAsync();
        // The set-up code's time step is spent; the next step's code is within the allowed drift.
        await Page.Locator("#sign-in-code").FillAsync(totp.ComputeTotp(DateTime.UtcNow.AddSeconds(30)));
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(Page.Locator("#topbar")).ToBeVisibleAsync();
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Sign_out_everywhere_sends_every_other_browser_back_to_the_sign_in_form()
    {
        await SignedInAsync("#/security");
        var other = await LocalhostPageAsync();
        await SignInOnAsync(other);
        await Expect(other.Locator("#topbar")).ToBeVisibleAsync();

        await Page.ReloadAsync();
        // This page, the other browser and the API client that created the owner.
        await Expect(Page.Locator("#sessions-table tbody tr")).ToHaveCountAsync(3);
        await Page.Locator("#sign-out-everywhere").ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Sign out everywhere" }).ClickAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "Sign in to your vault" })).ToBeVisibleAsync();

        await other.ReloadAsync();
        await Expect(other.GetByRole(AriaRole.Heading, new() { Name = "Sign in to your vault" })).ToBeVisibleAsync();
        AssertNoPageProblems();
        await other.Context.DisposeAsync();
    }

    [Fact]
    public async Task When_the_vault_cannot_check_the_session_the_page_says_so_instead_of_showing_the_sign_in_form()
    {
        await SignedInAsync("#/tokens");
        var outage = true;
        // The vault's answer while its storage is down (Errors.SessionUncheckable, proved over HTTP by StorageOutageTests).
        await Page.RouteAsync("**/okap/account/session", async route =>
        {
            if (!outage) { await route.ContinueAsync(); return; }
            await route.FulfillAsync(new()
            {
                Status = 503, ContentType = "application/json",
                Body = "{\"error\":{\"type\":\"vault_unavailable\",\"message\":\"The vault cannot reach its storage to check your session right now, so nothing was done.\"}}",
            });
        });
        await Page.ReloadAsync();
        await Expect(Page.GetByRole(AriaRole.Heading, new() { Name = "The vault is unavailable" })).ToBeVisibleAsync();
        await Expect(Page.Locator(".notice")).ToContainTextAsync("cannot reach its storage");
        await Expect(Page.GetByLabel("Password")).ToHaveCountAsync(0);

        outage = false;
        await Page.Locator("#retry-session").ClickAsync();
        await Expect(Page.Locator("#topbar")).ToBeVisibleAsync();
        AssertNoPageProblems();
    }
}
