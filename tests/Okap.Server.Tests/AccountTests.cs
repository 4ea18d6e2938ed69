using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core.Accounts;

namespace Okap.Server.Tests;

public sealed class AccountTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task A_mistake_in_the_setup_form_does_not_use_up_the_link()
    {
        _vault.Settings["Okap:Auth:AllowRegistration"] = "false";
        var token = await _vault.Services.GetRequiredService<AccountService>().IssueSetupTokenAsync(CancellationToken.None);
        var client = _vault.ClientFor();
        var typo = await client.PostAsJsonAsync("/okap/account/setup", new { setup_token = token, user_name = "alice", password = "short" });
        Assert.Equal("password", (await typo.JsonAsync())["error"]!["param"]!.GetValue<string>());
        var created = await client.PostAsJsonAsync("/okap/account/setup", new { setup_token = token, user_name = "alice", password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }
}

public sealed class PlatformSessionTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Without_the_platform_the_session_offers_no_platform_sign_in()
    {
        var body = await (await _vault.CreateClient().GetAsync("/okap/account/session")).JsonAsync();
        Assert.True(body["setup_required"]!.GetValue<bool>());
        Assert.Null(body["platform_sign_in_url"]);
    }
}
