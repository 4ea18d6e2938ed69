using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using Okap.Protocol;

namespace Okap.Client.Tests;

/// <summary><see cref="OkapClient.AuthorizeAsync"/> and <see cref="OkapClient.WaitForDecisionAsync"/> (the specification's shape) against the real vault.</summary>
public sealed class AuthorizeTests : IDisposable
{
    private readonly ClientVault _vault = new();

    public void Dispose() => _vault.Dispose();

    private static AccessRequestOptions[] OpenAiAndAnthropic() =>
    [
        new() { Provider = "openai", Models = ["gpt-4"], Capabilities = ["chat", "embeddings"], Limits = new OkapLimits { MonthlySpend = 10m }, Reason = "human-readable" },
        new() { Provider = "anthropic" },
    ];

    [Fact]
    public async Task Pending_then_approved_wait_returns_the_token_once_and_a_second_wait_is_already_claimed()
    {
        var owner = await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();

        var first = await client.AuthorizeAsync(OpenAiAndAnthropic());

        var pending = Assert.IsType<OkapPendingAuthorization>(first);
        Assert.False(pending.IsGranted);
        Assert.NotNull(pending.RequestId);
        Assert.StartsWith($"http://localhost/okap/authorize/{pending.RequestId}?handle=okap_poll_", pending.PollUrl.AbsoluteUri);
        Assert.Equal(new Uri($"http://localhost/#/requests/{pending.RequestId}"), pending.ApproveUrl);
        Assert.NotNull(pending.ExpiresAt);
        var handle = pending.PollUrl.Query["?handle=".Length..];
        Assert.DoesNotContain(handle, pending.ToString());

        var sent = JsonNode.Parse(_vault.Calls.Single().Body!)!.AsObject();
        Assert.Equal("http://localhost/okap/authorize", _vault.Calls.Single().Url.AbsoluteUri);
        Assert.Equal("ai_model_access", sent["authorization_details"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("Client Test App", sent["client"]!["name"]!.GetValue<string>());
        Assert.Equal("https://app.example.com/callback", sent["client"]!["callback"]!.GetValue<string>());

        var waiting = client.WaitForDecisionAsync(pending, TimeSpan.FromSeconds(20));
        await ClientVault.UntilAsync(() => _vault.Calls.Count >= 2, "the client did not poll");
        Assert.False(waiting.IsCompleted);
        (await owner.PostAsync($"/okap/admin/requests/{pending.RequestId}/approve", null)).EnsureSuccessStatusCode();

        var granted = Assert.IsType<OkapGrantedAuthorization>(await waiting);
        Assert.True(granted.IsGranted);
        Assert.Equal(pending.RequestId, granted.RequestId);
        Assert.StartsWith("okap_", granted.Token);
        Assert.Equal(new Uri("http://localhost/v1/openai"), granted.BaseUrls["openai"]);
        Assert.Equal(new Uri("http://localhost/v1/anthropic"), granted.BaseUrls["anthropic"]);
        Assert.Equal(["chat", "embeddings"], granted.GrantFor("openai")!.Capabilities);
        var openai = granted.AccessFor("openai");
        Assert.Equal(granted.Token, openai.Token);
        Assert.Equal(new Uri("http://localhost/v1/openai"), openai.BaseUrl);
        Assert.Equal(10m, openai.Limits!.MonthlySpend);
        Assert.Equal("provider", Assert.Throws<ArgumentException>(() => granted.AccessFor("google")).ParamName);
        Assert.DoesNotContain(granted.Token, granted.ToString());
        Assert.DoesNotContain(granted.Token, openai.ToString());
        Assert.Contains("http://localhost/v1/anthropic", granted.ToString());
        Assert.True(_vault.Calls.Skip(1).All(c => c.Url.Query.Contains("&wait=")), "every poll asks the vault to wait");

        var again = await Assert.ThrowsAsync<OkapAccessDeniedException>(() => client.WaitForDecisionAsync(pending, TimeSpan.FromSeconds(5)));
        Assert.Equal(OkapErrorCodes.AlreadyClaimed, again.ErrorCode);
        Assert.Equal(pending.RequestId, again.RequestId);
        Assert.DoesNotContain(granted.Token, again.ToString());
        Assert.DoesNotContain(handle, again.ToString());

        // Waiting on a granted authorization returns it without asking the vault.
        var calls = _vault.Calls.Count;
        Assert.Same(granted, await client.WaitForDecisionAsync(granted, TimeSpan.FromSeconds(5)));
        Assert.Equal(calls, _vault.Calls.Count);
    }

    [Fact]
    public async Task Denied_request_makes_the_wait_throw_access_denied_with_the_reason()
    {
        var owner = await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();
        var pending = (OkapPendingAuthorization)await client.AuthorizeAsync(OpenAiAndAnthropic());

        (await owner.PostAsJsonAsync($"/okap/admin/requests/{pending.RequestId}/deny", new { reason = "Not now" })).EnsureSuccessStatusCode();

        var denied = await Assert.ThrowsAsync<OkapAccessDeniedException>(() => client.WaitForDecisionAsync(pending, TimeSpan.FromSeconds(10)));
        Assert.IsNotType<OkapPendingException>(denied);
        Assert.Equal(OkapErrorCodes.Denied, denied.ErrorCode);
        Assert.Equal("Not now", denied.Message);
        Assert.Equal(pending.RequestId, denied.RequestId);
    }

    [Fact]
    public async Task Policy_approval_is_granted_at_once()
    {
        var owner = await _vault.SignUpOwnerAsync();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai", "anthropic" } })).EnsureSuccessStatusCode();
        using var client = _vault.NewClient();

        var granted = Assert.IsType<OkapGrantedAuthorization>(await client.AuthorizeAsync(OpenAiAndAnthropic()));

        Assert.Equal(["openai", "anthropic"], granted.Grants.Select(g => g.Provider));
        Assert.StartsWith("okap_", granted.Token);
    }

    [Fact]
    public async Task Wait_returns_the_still_pending_authorization_when_its_own_clock_runs_out()
    {
        // The vault answers each poll after at most 1 s of its own (fake) clock; the client's deadline runs on another.
        _vault.Settings["Okap:MaxPollWait"] = "00:00:01";
        var vaultClock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        _vault.Time = vaultClock;
        await _vault.SignUpOwnerAsync();
        var clock = new TimerCountingClock(DateTimeOffset.UtcNow);
        using var client = _vault.NewClient(time: clock);
        var pending = (OkapPendingAuthorization)await client.AuthorizeAsync(OpenAiAndAnthropic());

        var waiting = client.WaitForDecisionAsync(pending, TimeSpan.FromMinutes(2));
        // The vault's second passes; it answers "pending", and the client, whose clock has not moved, sets its timer.
        await ClientVault.UntilAsync(() => clock.TimersCreated > 0 || waiting.IsCompleted, "the client did not wait for its next poll", vaultClock);
        Assert.False(waiting.IsCompleted, "the client's clock has not moved, so it keeps waiting");
        // The vault answered before the 25 s asked for: the client spaces its next poll on its own clock instead of hammering.
        Assert.Single(_vault.Calls.Skip(1));
        for (var i = 0; i < 100 && !waiting.IsCompleted; i++)
        {
            var timers = clock.TimersCreated;
            clock.Advance(TimeSpan.FromSeconds(30));
            // It polls again; the vault holds that poll for its second and the client sets its next timer (or gives up).
            await ClientVault.UntilAsync(() => clock.TimersCreated > timers || waiting.IsCompleted, "the client neither polled again nor returned", vaultClock);
        }

        var still = Assert.IsType<OkapPendingAuthorization>(await waiting);
        Assert.Equal(pending.RequestId, still.RequestId);
        Assert.Equal(pending.PollUrl, still.PollUrl);
        var polls = _vault.Calls.Skip(1).ToList();
        Assert.NotEmpty(polls);
        Assert.Equal("25", System.Web.HttpUtility.ParseQueryString(polls[0].Url.Query)["wait"]);
    }

    [Fact]
    public async Task Zero_wait_polls_once_and_returns_pending()
    {
        await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();
        var pending = await client.AuthorizeAsync(OpenAiAndAnthropic());

        var still = await client.WaitForDecisionAsync(pending, TimeSpan.Zero);

        Assert.IsType<OkapPendingAuthorization>(still);
        var poll = Assert.Single(_vault.Calls.Skip(1));
        Assert.EndsWith("&wait=0", poll.Url.Query);
    }

    [Fact]
    public async Task Wrong_poll_handle_is_a_404_vault_exception_that_does_not_show_the_handle()
    {
        await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();
        var pending = (OkapPendingAuthorization)await client.AuthorizeAsync(OpenAiAndAnthropic());
        var forged = new OkapPendingAuthorization { RequestId = pending.RequestId, PollUrl = new Uri(pending.PollUrl.AbsoluteUri + "x") };

        var unknown = await Assert.ThrowsAsync<OkapVaultException>(() => client.WaitForDecisionAsync(forged, TimeSpan.Zero));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.DoesNotContain("okap_poll_", unknown.ToString());
    }

    [Fact]
    public async Task Vault_400_names_the_field_of_the_specification_shape()
    {
        await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();

        var bad = await Assert.ThrowsAsync<OkapVaultException>(() => client.AuthorizeAsync([new AccessRequestOptions { Provider = "openai" }, new AccessRequestOptions { Provider = "nope" }]));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("authorization_details[1].provider", bad.Param);
        Assert.Contains("authorization_details[1].provider", bad.Message);
    }
}
