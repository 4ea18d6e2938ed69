using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Okap.Protocol;
using Okap.Testing;

namespace Okap.Client.Tests;

/// <summary><see cref="OkapClient.RequestAccessAsync"/> (the Python SDK's <c>POST /okap/request</c>) against the real vault.</summary>
public sealed class RequestAccessTests : IAsyncLifetime
{
    private readonly ClientVault _vault = new();
    private readonly FakeProvider _provider = new();

    private static AccessRequestOptions OpenAi(DateTimeOffset? expires = null) => new()
    {
        Provider = "openai",
        Models = ["gpt-4o-mini"],
        Limits = new OkapLimits { MonthlySpend = 10.0m, RequestsPerMinute = 60 },
        Expires = expires ?? new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero),
        Reason = "Summaries in my notes app",
    };

    public async Task InitializeAsync()
    {
        await _provider.StartAsync();
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _provider.Url + "/openai/v1";
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        await _provider.DisposeAsync();
    }

    [Fact]
    public async Task Auto_approved_request_returns_a_token_that_works_through_the_vaults_proxy()
    {
        var owner = await _vault.SignUpOwnerAsync();
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-master-key-for-client-tests" })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        using var client = _vault.NewClient();

        var access = await client.RequestAccessAsync(OpenAi());

        Assert.StartsWith("okap_", access.Token);
        Assert.Equal(new Uri("http://localhost/v1/openai"), access.BaseUrl);
        Assert.Equal("openai", access.Provider);
        Assert.Equal(["gpt-4o-mini"], access.Models);
        Assert.Equal(["chat"], access.Capabilities);
        Assert.Equal(10.0m, access.Limits!.MonthlySpend);
        // The vault caps the lifetime (Okap:MaxTokenLifetime, a year by default) below the 2099 asked for.
        Assert.InRange(access.ExpiresAt!.Value, DateTimeOffset.UtcNow.AddDays(300), DateTimeOffset.UtcNow.AddDays(367));
        Assert.NotNull(access.CreatedAt);

        // Use it as an OpenAI-compatible client would: base URL + /chat/completions, the token as the key.
        using var chat = new HttpRequestMessage(HttpMethod.Post, access.BaseUrl + "/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        chat.Headers.Authorization = new AuthenticationHeaderValue("Bearer", access.Token);
        var answer = await _vault.CreateClient().SendAsync(chat);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("Bearer sk-master-key-for-client-tests", _provider.Last()!.Header("authorization"));
    }

    [Fact]
    public async Task Sends_the_python_sdk_body_to_okap_request_at_the_host_root()
    {
        var owner = await _vault.SignUpOwnerAsync();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        using var client = _vault.NewClient("http://localhost/some/path/");

        var access = await client.RequestAccessAsync(new AccessRequestOptions { Provider = "openai" });

        Assert.Equal(new Uri("http://localhost/v1/openai"), access.BaseUrl);
        var call = Assert.Single(_vault.Calls);
        Assert.Equal(HttpMethod.Post, call.Method);
        Assert.Equal("http://localhost/okap/request", call.Url.AbsoluteUri);
        var body = JsonNode.Parse(call.Body!)!.AsObject();
        // Null members are left out, at every level; no models means every model; no capabilities means chat.
        Assert.Equal(["okap", "provider", "models", "capabilities", "app_name", "app_url", "redirect_uri"], body.Select(p => p.Key));
        Assert.Equal("1.0", body["okap"]!.GetValue<string>());
        Assert.Empty(body["models"]!.AsArray());
        Assert.Equal(["chat"], body["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()));
        Assert.Equal("Client Test App", body["app_name"]!.GetValue<string>());
        Assert.Equal("https://app.example.com/callback", body["redirect_uri"]!.GetValue<string>());
    }

    [Fact]
    public async Task Undecided_request_throws_pending_with_the_approve_link_and_the_same_request_later_gets_the_token()
    {
        var owner = await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();

        var pending = await Assert.ThrowsAsync<OkapPendingException>(() => client.RequestAccessAsync(OpenAi()));

        var id = await ClientVault.PendingIdAsync(owner);
        Assert.Equal(OkapErrorCodes.Pending, pending.ErrorCode);
        Assert.Equal(new Uri($"http://localhost/#/requests/{id}"), pending.ApproveUrl);
        Assert.Equal(id, pending.RequestId);
        Assert.Contains(id, pending.Message);
        Assert.IsAssignableFrom<OkapAccessDeniedException>(pending);

        (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).EnsureSuccessStatusCode();
        var access = await client.RequestAccessAsync(OpenAi());
        Assert.StartsWith("okap_", access.Token);
    }

    [Fact]
    public async Task Denied_request_throws_access_denied_with_the_owners_reason()
    {
        _vault.Settings["Okap:DecisionWait"] = "00:00:10";
        var owner = await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();

        var asking = client.RequestAccessAsync(OpenAi());
        var id = await ClientVault.PendingIdAsync(owner);
        (await owner.PostAsJsonAsync($"/okap/admin/requests/{id}/deny", new { reason = "Not this app" })).EnsureSuccessStatusCode();

        var denied = await Assert.ThrowsAsync<OkapAccessDeniedException>(() => asking);
        Assert.Equal(OkapErrorCodes.Denied, denied.ErrorCode);
        Assert.Equal("Not this app", denied.Message);
    }

    [Fact]
    public async Task Held_request_returns_the_token_when_the_owner_approves_during_the_wait()
    {
        _vault.Settings["Okap:DecisionWait"] = "00:00:20";
        var owner = await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();

        var asking = client.RequestAccessAsync(OpenAi());
        var id = await ClientVault.PendingIdAsync(owner);
        Assert.False(asking.IsCompleted);
        (await owner.PostAsync($"/okap/admin/requests/{id}/approve", null)).EnsureSuccessStatusCode();

        var access = await asking;
        Assert.StartsWith("okap_", access.Token);
        Assert.DoesNotContain(access.Token, access.ToString());
        Assert.Contains("[redacted]", access.ToString());
        Assert.Contains("http://localhost/v1/openai", access.ToString());
    }

    [Fact]
    public async Task Vault_400_is_a_vault_exception_naming_the_field()
    {
        await _vault.SignUpOwnerAsync();
        using var client = _vault.NewClient();

        var past = await Assert.ThrowsAsync<OkapVaultException>(() => client.RequestAccessAsync(OpenAi(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Equal(OkapErrorTypes.InvalidRequest, past.ErrorType);
        Assert.Equal("expires", past.Param);
        Assert.Contains("expires", past.Message);
        Assert.StartsWith("Vault returned error: 400", past.Message);

        // The SDK route accepts only providers the Python SDK can parse back; the client leaves that judgement to the vault.
        var groq = await Assert.ThrowsAsync<OkapVaultException>(() => client.RequestAccessAsync(new AccessRequestOptions { Provider = "groq" }));
        Assert.Equal("provider", groq.Param);
        var vision = await Assert.ThrowsAsync<OkapVaultException>(() => client.RequestAccessAsync(new AccessRequestOptions { Provider = "openai", Capabilities = ["vision"] }));
        Assert.Equal("capabilities[0]", vision.Param);
    }

    [Fact]
    public async Task Vault_without_an_account_is_a_404_vault_exception()
    {
        using var client = _vault.NewClient();
        var unknown = await Assert.ThrowsAsync<OkapVaultException>(() => client.RequestAccessAsync(OpenAi()));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(OkapErrorTypes.UnknownVault, unknown.ErrorType);
    }

    [Fact]
    public async Task Unreachable_vault_is_a_vault_exception_without_a_status()
    {
        using var client = new OkapClient(new Uri("http://127.0.0.1:1"), "Nowhere App");
        var down = await Assert.ThrowsAsync<OkapVaultException>(() => client.RequestAccessAsync(OpenAi()));
        Assert.Null(down.StatusCode);
        Assert.IsType<HttpRequestException>(down.InnerException);
    }
}
