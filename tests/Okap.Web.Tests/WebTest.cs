using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>
/// Base of the browser tests: a fresh vault (own data folder, own port) and a fresh browser context per test, plus
/// helpers for the owner's sign-in, an app's OKAP requests and screenshots.
/// </summary>
[Collection(BrowserCollection.Name)]
public abstract class WebTest(BrowserFixture browser) : IAsyncLifetime
{
    public const string Password = "correct horse battery";

    protected VaultServer Server { get; private set; } = null!;
    protected IBrowserContext Context { get; private set; } = null!;
    protected IPage Page { get; private set; } = null!;

    /// <summary>Console messages about Content-Security-Policy violations and uncaught page errors.</summary>
    protected List<string> PageProblems { get; } = [];

    protected virtual IDictionary<string, string?>? Settings => null;

    protected virtual ViewportSize Viewport => new() { Width = 1000, Height = 700 };

    public virtual async Task InitializeAsync()
    {
        Server = VaultServer.Start(Settings);
        Context = await browser.Browser.NewContextAsync(new() { ViewportSize = Viewport, BaseURL = Server.Url, Locale = "en-US", TimezoneId = "UTC" });
        Context.SetDefaultTimeout(15_000);
        await Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Server.Url });
        Page = await Context.NewPageAsync();
        Page.Console += (_, m) =>
        {
            if (m.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) PageProblems.Add("CSP: " + m.Text);
        };
        Page.PageError += (_, e) => PageProblems.Add("page error: " + e);
    }

    public virtual async Task DisposeAsync()
    {
        await Context.DisposeAsync();
        await Server.DisposeAsync();
    }

    protected static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    protected static IPageAssertions Expect(IPage page) => Assertions.Expect(page);

    /// <summary>Creates the owner (through the API) and signs in through the page.</summary>
    protected async Task<AdminClient> SignedInAsync(string hash = "#/")
    {
        var admin = await Server.CreateOwnerAsync(password: Password);
        await SignInAsync(hash);
        return admin;
    }

    protected async Task SignInAsync(string hash = "#/", string user = "alice", string password = Password)
    {
        await Page.GotoAsync("/" + hash);
        await Page.GetByLabel("User name").FillAsync(user);
        await Page.GetByLabel("Password").FillAsync(password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(Page.Locator("#topbar")).ToBeVisibleAsync();
    }

    /// <summary>Starts an access request in the Python SDK's shape; the vault holds it open until the owner decides.</summary>
    protected Task<HttpResponseMessage> StartSdkRequest(HttpClient app, object body) => app.PostAsJsonAsync("/okap/request", body);

    /// <summary>An access request in the specification's shape, which replies 202 at once; returns the request id.</summary>
    protected async Task<string> AuthorizeAsync(string appName, string? reason = null, string provider = "openai", string? url = null) =>
        (await AuthorizeWithPollAsync(appName, reason, provider, url)).Id;

    /// <summary>As <see cref="AuthorizeAsync"/>, also returning the secret poll URL with which the app collects its token.</summary>
    protected async Task<(string Id, string PollUrl)> AuthorizeWithPollAsync(string appName, string? reason = null, string provider = "openai", string? url = null)
    {
        using var app = Server.AppClient();
        using var response = await app.PostAsJsonAsync("/okap/authorize", new
        {
            okap = "1.0",
            client = new { name = appName, url },
            authorization_details = new[]
            {
                new { type = "ai_model_access", provider, models = new[] { "gpt-4o-mini" }, capabilities = new[] { "chat" },
                    limits = new { monthly_spend = 5.0, requests_per_minute = 30 }, reason },
            },
        });
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("pending", json["status"]!.GetValue<string>());
        return (json["request_id"]!.GetValue<string>(), json["poll_url"]!.GetValue<string>());
    }

    /// <summary>The app collects its token with the poll URL; returns the reply.</summary>
    protected async Task<JsonNode> PollAsync(string pollUrl)
    {
        using var app = Server.AppClient();
        return JsonNode.Parse(await app.GetStringAsync(pollUrl))!;
    }

    /// <summary>Saves a screenshot to <c>artifacts/screenshots/{name}.png</c> at the repository root, scrolled to the top.</summary>
    protected async Task ShotAsync(string name, bool fullPage = false, bool top = true)
    {
        Directory.CreateDirectory(Paths.Screenshots);
        if (top) await Page.EvaluateAsync("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }");
        await Page.EvaluateAsync("() => document.querySelectorAll('.toast').forEach(t => t.remove())");
        await Page.ScreenshotAsync(new() { Path = Path.Combine(Paths.Screenshots, name + ".png"), FullPage = fullPage });
    }

    protected void AssertNoPageProblems() => Assert.True(PageProblems.Count == 0, string.Join("\n", PageProblems));
}

public static class Paths
{
    public static string RepositoryRoot { get; } = typeof(Paths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "RepositoryRoot").Value!;

    public static string Screenshots => Path.Combine(RepositoryRoot, "artifacts", "screenshots");
}
