using Microsoft.Playwright;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Okap.Web.Tests;

/// <summary>
/// One Playwright driver and one Debian chromium (from <c>OKAP_CHROMIUM</c>, default <c>/usr/bin/chromium</c>) for
/// the whole run; each test gets its own browser context (its own cookies).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var chromium = Environment.GetEnvironmentVariable("OKAP_CHROMIUM");
        if (string.IsNullOrEmpty(chromium)) chromium = "/usr/bin/chromium";
        if (!File.Exists(chromium)) throw new InvalidOperationException($"chromium not found at {chromium}: install it (apt-get install chromium) or set OKAP_CHROMIUM");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ChromiumArgs });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
