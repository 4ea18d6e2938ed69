using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Okap.Proxy;
using Okap.Testing;

namespace Okap.Server.Tests;

/// <summary>
/// Table Storage going away under a running vault: chosen fail-closed, the proxy refuses everything; by default it
/// keeps serving tokens it has checked, within the leases it holds, for the outage grace, and refuses the rest.
/// Nothing is lost either way, and a revocation the store cannot take is refused, visibly. The vault runs on virtual
/// time: the token cache's second, the outage grace and the flush timer pass when the test advances the clock.
/// </summary>
public sealed class StorageOutageTests : IAsyncLifetime
{
    private readonly string _azuriteFolder = Path.Combine(Path.GetTempPath(), "okap-azurite-" + Guid.NewGuid().ToString("N"));
    private readonly FakeProvider _fake = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero));
    private AzuriteProcess? _azurite;
    private VaultFactory? _vault;

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        if (!VaultFactory.OnAzure) return;
        _azurite = await AzuriteProcess.StartAsync(_azuriteFolder);
        _vault = new VaultFactory { OwnAzurite = _azurite, Time = _time };
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        _vault.Settings["Okap:Proxy:FlushInterval"] = "00:00:00.300";
        _vault.Settings["Okap:Proxy:StoreTimeout"] = "00:00:02";
        _vault.Settings["Okap:Azure:TableMaxRetries"] = "0";
        // Stopped Azurite refuses connections at once; the timeout only has to outlast a cold start-up on a busy machine.
        _vault.Settings["Okap:Azure:TableNetworkTimeout"] = "00:00:05";
    }

    public async Task DisposeAsync()
    {
        _vault?.Dispose();
        if (_azurite is not null) await _azurite.DisposeAsync();
        await _fake.DisposeAsync();
        try { Directory.Delete(_azuriteFolder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task<HttpStatusCode> ChatAsync(string token, Action<HttpResponseMessage>? inspect = null)
    {
        using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "10,5");
        var response = await _vault!.CreateClient().SendAsync(call);
        inspect?.Invoke(response);
        return response.StatusCode;
    }

    [AzureStoreFact]
    public async Task Fail_closed_proxy_refuses_with_503_while_storage_is_down_and_no_usage_is_lost_once_it_is_back()
    {
        _vault!.Settings["Okap:Proxy:FailClosedOnStoreOutage"] = "true";
        var (owner, token, tokenId) = await OwnerWithTokenAsync();

        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, await ChatAsync(token));
        await _azurite!.StopAsync();
        _time.Advance(TimeSpan.FromSeconds(1.2)); // past the token cache's 1 s: the vault must ask storage again

        var forwardedBefore = _fake.Seen.Count;
        JsonObject? error = null;
        var status = await ChatAsync(token, r => error = JsonNode.Parse(r.Content.ReadAsStringAsync().GetAwaiter().GetResult())!.AsObject());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("vault_unavailable", error!["error"]!["type"]!.GetValue<string>());
        Assert.Equal(forwardedBefore, _fake.Seen.Count);

        await RestartAndRecoverAsync(token);
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.OK, await ChatAsync(token));

        // Every call that went through is counted: 5 before, 1 on recovery, 4 after.
        Assert.Equal(10, await RequestsCountedAsync(owner, tokenId, 10));
        Assert.Equal(10, _fake.Seen.Count(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal)));
    }

    private async Task RestartAndRecoverAsync(string token)
    {
        await _azurite!.StartAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await ChatAsync(token) != HttpStatusCode.OK)
        {
            // Waiting for the Azurite process to serve again (real time); the vault's clock moves on with it.
            Assert.True(DateTime.UtcNow < deadline, "vault did not recover after storage came back");
            await Task.Delay(200);
            _time.Advance(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>
    /// The token's requests in the stored usage, once they reach <paramref name="expected"/> (or after 100 flush
    /// intervals of virtual time, each waited for, and 20 s).
    /// </summary>
    private async Task<long> RequestsCountedAsync(HttpClient owner, string tokenId, long expected)
    {
        var flush = _vault!.Services.GetRequiredService<UsageFlushService>();
        long requests = 0;
        for (var i = 0; i < 100 && requests < expected; i++)
        {
            if (i > 0) await Task.Delay(200); // the store just came back: a flush may still fail once
            _time.Advance(TimeSpan.FromMilliseconds(300)); // one flush interval
            await flush.TicksDoneAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var rows = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/usage"))!["rows"]!.AsArray();
            requests = rows.Where(r => r!["token_id"]!.GetValue<string>() == tokenId).Sum(r => r!["requests"]!.GetValue<long>());
        }
        return requests;
    }

    [AzureStoreFact]
    public async Task Access_requests_while_storage_is_down_get_a_503_and_the_python_sdk_a_readable_refusal()
    {
        await _vault!.SignUpAsync("alice");
        await _azurite!.StopAsync();
        try
        {
            var app = _vault.ClientFor();
            using var csharp = await app.PostAsJsonAsync("/okap/request", Bodies.Sdk());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, csharp.StatusCode);
            Assert.Equal("vault_unavailable", (await csharp.JsonAsync())["error"]!["type"]!.GetValue<string>());

            using var python = new HttpRequestMessage(HttpMethod.Post, "/okap/request") { Content = JsonContent.Create(Bodies.Sdk()) };
            python.Headers.TryAddWithoutValidation("User-Agent", "python-httpx/0.28.1");
            using var refused = await app.SendAsync(python);
            Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
            var reply = await refused.JsonAsync();
            Assert.False(reply["approved"]!.GetValue<bool>());
            Assert.Equal("vault_unavailable", reply["error_code"]!.GetValue<string>());
            Assert.Contains("cannot reach its storage", reply["error"]!.GetValue<string>());

            using var spec = await app.PostAsJsonAsync("/okap/authorize", Bodies.Spec());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, spec.StatusCode);
            using var poll = await app.GetAsync("/okap/authorize/req_x?handle=okap_poll_x");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, poll.StatusCode);
        }
        finally
        {
            await _azurite.StartAsync();
        }
    }

    private async Task<(HttpClient Owner, string Token, string TokenId)> OwnerWithTokenAsync(object? limits = null)
    {
        var owner = await _vault!.SignUpAsync("alice");
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-outage-master-key-0001" })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var token = await IssueAsync(limits);
        var tokenId = (await owner.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray().Single()!["id"]!.GetValue<string>();
        return (owner, token, tokenId);
    }

    private async Task<string> IssueAsync(object? limits = null) =>
        (await (await _vault!.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk(limits: limits))).JsonAsync())["token"]!["token"]!.GetValue<string>();

    [AzureStoreFact]
    public async Task During_an_outage_a_checked_token_keeps_working_within_its_lease_for_the_grace_and_everything_else_is_refused()
    {
        _vault!.Settings["Okap:Proxy:StoreOutageGrace"] = "00:00:03";
        // Spend and daily-request leases last until spent; per-minute slots only for their 5-second bucket.
        var (owner, token, tokenId) = await OwnerWithTokenAsync(new { monthly_spend = 10.0, requests_per_day = 1000 });
        var unseen = await IssueAsync();
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, await ChatAsync(token));

        await _azurite!.StopAsync();
        // The token was last read just now, on a clock that only moves when told: the grace runs from here.
        _time.Advance(TimeSpan.FromSeconds(1.2)); // past the token cache's 1 s: the vault asks storage, which is gone

        // The token it checked: served from what it last read, within the lease it holds.
        var forwarded = _fake.Seen.Count;
        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, await ChatAsync(token));
        Assert.Equal(forwarded + 5, _fake.Seen.Count);
        // A token it never checked: refused.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ChatAsync(unseen));
        // A revocation the store cannot take is refused, and the owner is told it did not happen. The session
        // itself cannot be checked either: that is a 503 too, never a 401 that would sign the person out.
        var revoke = await owner.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, revoke.StatusCode);
        Assert.False(revoke.Headers.Contains("Set-Cookie"));
        var error = (await revoke.JsonAsync())["error"]!;
        Assert.Equal("vault_unavailable", error["type"]!.GetValue<string>());
        Assert.Contains("nothing was done", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await owner.GetAsync("/okap/account/session")).StatusCode);

        // Past the grace (3.3 s after the outage began): refused too.
        _time.Advance(TimeSpan.FromSeconds(3.3 - 1.2));
        forwarded = _fake.Seen.Count;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ChatAsync(token));
        Assert.Equal(forwarded, _fake.Seen.Count);

        await RestartAndRecoverAsync(token);
        // Every call that went through is counted, those served during the outage included.
        var served = _fake.Seen.Count(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
        Assert.Equal(served, await RequestsCountedAsync(owner, tokenId, served));
        // The session outlived the outage; revoking now works, and takes effect.
        (await owner.PostAsync($"/okap/admin/tokens/{tokenId}/revoke", null)).EnsureSuccessStatusCode();
        _time.Advance(TimeSpan.FromSeconds(1.1)); // past the token cache's 1 s
        Assert.Equal(HttpStatusCode.Unauthorized, await ChatAsync(token));
    }
}
