using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core.Accounts;
using Okap.Proxy.Tests.Infrastructure;
using Okap.Testing;

namespace Okap.Proxy.Tests.Integration;

/// <summary>
/// The vault's managed identity is sent only for the owners and hosts the operator granted (VaultHost's
/// <c>Okap:ManagedIdentity:Owners</c>): alice has <c>localhost</c> with an identity of her own, bob <c>127.0.0.1</c>
/// with the vault's default one, eve nothing.
/// </summary>
[Collection(VaultCollection.Name)]
public sealed class ManagedIdentityGrantTests(VaultFixture f)
{
    private VaultHost Vault => f.Vault;
    private FakeProvider Fake => f.Fake;
    private string AliceUrl => Fake.Url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/azuremi/openai/v1";
    private string BobUrl => Fake.Url + "/azuremi/openai/v1";

    private async Task<HttpResponseMessage> CallAsync(string owner, string baseUrl)
    {
        await Vault.SetKeyAsync(owner, "openai", null, baseUrl, "managed-identity");
        // As the admin API does after a key change: the proxy forgets the owner's cached upstream.
        foreach (var listener in Vault.App.Services.GetServices<IOwnerSettingsListener>()) listener.OwnerSettingsChanged(owner);
        var (token, _) = await Vault.IssueForAsync(owner, VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        return await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat("gpt-4o-mini")));
    }

    [Fact]
    public async Task An_owner_without_a_grant_cannot_spend_another_owners_resource_with_the_vaults_identity()
    {
        var before = Fake.Seen.Count;
        var res = await CallAsync("own_mi_eve", AliceUrl);
        await res.AssertError(403, "no_master_key");
        Assert.Contains("operator has not allowed", (string?)(await res.BodyJson())["error"]!["message"]);
        Assert.Equal(before, Fake.Seen.Count);
    }

    [Fact]
    public async Task An_owner_granted_one_host_cannot_use_the_identity_at_another()
    {
        var before = Fake.Seen.Count;
        await (await CallAsync("own_mi_bob", AliceUrl)).AssertError(403, "no_master_key");
        Assert.Equal(before, Fake.Seen.Count);
    }

    [Fact]
    public async Task Each_granted_owner_gets_the_identity_the_operator_gave_them_at_their_own_host()
    {
        var alice = await CallAsync("own_mi_alice", AliceUrl);
        Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
        Assert.Equal("Bearer entra-token-" + VaultHost.AliceIdentity, Fake.Last(s => s.Path.StartsWith("/azuremi/", StringComparison.Ordinal))!.Header("authorization"));

        var bob = await CallAsync("own_mi_bob", BobUrl);
        Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
        Assert.Equal("Bearer entra-token-fake", Fake.Last(s => s.Path.StartsWith("/azuremi/", StringComparison.Ordinal))!.Header("authorization"));
    }

    [Fact]
    public async Task A_trailing_dot_host_is_refused_rather_than_matched()
    {
        var before = Fake.Seen.Count;
        await (await CallAsync("own_mi_alice", AliceUrl.Replace("localhost", "localhost.", StringComparison.Ordinal))).AssertError(502, "upstream_unavailable");
        Assert.Equal(before, Fake.Seen.Count);
    }
}
