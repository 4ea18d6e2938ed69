using Okap.Testing;

namespace Okap.Web.Tests;

/// <summary>A browser test whose vault calls a fake provider on loopback, started before the vault and stopped after it.</summary>
public abstract class ProviderWebTest(BrowserFixture browser) : WebTest(browser)
{
    protected FakeProvider Provider { get; } = new();

    /// <summary>Settings beyond the provider's: each is added to the vault's configuration.</summary>
    protected virtual IDictionary<string, string?> MoreSettings => new Dictionary<string, string?>();

    protected sealed override IDictionary<string, string?>? Settings
    {
        get
        {
            var settings = new Dictionary<string, string?>(MoreSettings)
            {
                ["Okap:Proxy:Providers:openai:BaseUrl"] = Provider.Url + "/openai/v1",
                ["Okap:Proxy:FlushInterval"] = "00:00:00.200",
            };
            return settings;
        }
    }

    public override async Task InitializeAsync()
    {
        await Provider.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Provider.DisposeAsync();
    }
}
