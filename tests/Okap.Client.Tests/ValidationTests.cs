namespace Okap.Client.Tests;

/// <summary>Argument checks that need no vault.</summary>
public sealed class ValidationTests
{
    private static OkapClient Client(string vaultUrl = "https://vault.example.com", string? appName = "App") =>
        new(new HttpClient(), new OkapClientOptions { VaultUrl = new Uri(vaultUrl), AppName = appName });

    [Fact]
    public void Constructor_arguments_are_checked()
    {
        Assert.Equal("http", Assert.Throws<ArgumentNullException>(() => new OkapClient(null!, new OkapClientOptions { VaultUrl = new Uri("https://v.example") })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => new OkapClient(new HttpClient(), null!)).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => new OkapClient(new HttpClient(), new OkapClientOptions { VaultUrl = null! })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => Client("ftp://vault.example.com")).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() =>
            new OkapClient(new HttpClient(), new OkapClientOptions { VaultUrl = new Uri("/relative", UriKind.Relative) })).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() =>
            new OkapClient(new HttpClient(), new OkapClientOptions { VaultUrl = new Uri("https://v.example"), AppUrl = new Uri("/x", UriKind.Relative) })).ParamName);
        Assert.Equal("vaultUrl", Assert.Throws<ArgumentNullException>(() => new OkapClient(null!, "App")).ParamName);
        Assert.Equal("appName", Assert.Throws<ArgumentException>(() => new OkapClient(new Uri("https://v.example"), " ")).ParamName);
    }

    [Fact]
    public void Plain_http_is_allowed_only_to_the_loopback_unless_opted_in()
    {
        var insecure = Assert.Throws<ArgumentException>(() => Client("http://vault.example.com"));
        Assert.Equal("options", insecure.ParamName);
        Assert.Contains("https", insecure.Message);
        using var local = Client("http://localhost:5080");
        using var loopback = Client("http://127.0.0.1:5080");
        using var optedIn = new OkapClient(new HttpClient(), new OkapClientOptions { VaultUrl = new Uri("http://vault.lan"), AllowInsecureHttp = true });
        Assert.Equal(new Uri("http://vault.lan"), optedIn.VaultUrl);
    }

    [Fact]
    public async Task Request_arguments_are_checked_before_anything_is_sent()
    {
        using var client = Client();
        Assert.Equal("request", (await Assert.ThrowsAsync<ArgumentNullException>(() => client.RequestAccessAsync(null!))).ParamName);
        Assert.Equal("request", (await Assert.ThrowsAsync<ArgumentException>(() => client.RequestAccessAsync(new AccessRequestOptions { Provider = "" }))).ParamName);
        var model = await Assert.ThrowsAsync<ArgumentException>(() => client.RequestAccessAsync(new AccessRequestOptions { Provider = "openai", Models = ["gpt-4", " "] }));
        Assert.Equal("request", model.ParamName);
        Assert.Contains("Models[1]", model.Message);

        Assert.Equal("details", (await Assert.ThrowsAsync<ArgumentNullException>(() => client.AuthorizeAsync(null!))).ParamName);
        Assert.Equal("details", (await Assert.ThrowsAsync<ArgumentException>(() => client.AuthorizeAsync([]))).ParamName);
        Assert.Equal("details", (await Assert.ThrowsAsync<ArgumentException>(() => client.AuthorizeAsync([null!]))).ParamName);
        var twice = await Assert.ThrowsAsync<ArgumentException>(() => client.AuthorizeAsync([new AccessRequestOptions { Provider = "openai" }, new AccessRequestOptions { Provider = "openai" }]));
        Assert.Equal("details", twice.ParamName);
        Assert.Contains("details[1]", twice.Message);
        Assert.Equal("details", (await Assert.ThrowsAsync<ArgumentException>(() => client.AuthorizeAsync([new AccessRequestOptions { Provider = "openai", Capabilities = [""] }]))).ParamName);

        using var nameless = Client(appName: null);
        await Assert.ThrowsAsync<InvalidOperationException>(() => nameless.AuthorizeAsync([new AccessRequestOptions { Provider = "openai" }]));
    }

    [Fact]
    public async Task Wait_arguments_are_checked()
    {
        using var client = Client();
        var pending = new OkapPendingAuthorization { RequestId = "req_1", PollUrl = new Uri("https://vault.example.com/okap/authorize/req_1?handle=okap_poll_secret") };
        Assert.Equal("pending", (await Assert.ThrowsAsync<ArgumentNullException>(() => client.WaitForDecisionAsync(null!, TimeSpan.FromSeconds(1)))).ParamName);
        Assert.Equal("maxWait", (await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.WaitForDecisionAsync(pending, TimeSpan.FromSeconds(-1)))).ParamName);
        var insecure = new OkapPendingAuthorization { PollUrl = new Uri("http://vault.example.com/okap/authorize/req_1?handle=okap_poll_secret") };
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => client.WaitForDecisionAsync(insecure, TimeSpan.Zero));
        Assert.Equal("pending", refused.ParamName);
        Assert.DoesNotContain("okap_poll_secret", refused.Message);
        Assert.DoesNotContain("okap_poll_secret", pending.ToString());
    }

    [Fact]
    public async Task A_disposed_client_refuses_to_send()
    {
        var client = Client();
        client.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.RequestAccessAsync(new AccessRequestOptions { Provider = "openai" }));
    }
}
