using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Okap.Server.Tests;

/// <summary>
/// What the published Python SDK (<c>okap</c> 0.1.1, <c>OkapClient.request_access</c>) does on the wire, step by step, as
/// <c>/work/shared/okap-protocol.md</c> and the SDK's source describe it: POST to <c>urljoin(vault_url, "/okap/request")</c>
/// with httpx's default headers and <c>model_dump(exclude_none=True)</c> of its request; any non-2xx raises
/// <c>VaultError("Vault returned error: {status}")</c> without reading the body; <c>approved: false</c> raises
/// <c>AccessDeniedError(error or "Access denied", code=error_code)</c>.
/// </summary>
internal sealed class PythonSdkReplica(HttpClient http, string vaultUrl, string? appName = "My AI App", string? appUrl = null)
{
    /// <summary>The SDK sets no User-Agent of its own: httpx's default goes out.</summary>
    public const string HttpxUserAgent = "python-httpx/0.28.1";

    public sealed class VaultError(string message) : Exception(message);

    public sealed class AccessDeniedError(string message, string? code) : Exception(message)
    {
        public string? Code { get; } = code;
    }

    public async Task<JsonObject> RequestAccessAsync(string provider, string[]? models = null, string[]? capabilities = null,
        double? monthlyLimit = null, double? dailyLimit = null, int? requestsPerMinute = null, string? expires = null, string? reason = null)
    {
        var body = new JsonObject { ["okap"] = "1.0", ["provider"] = provider, ["models"] = new JsonArray([.. (models ?? []).Select(m => JsonValue.Create(m))]) };
        body["capabilities"] = new JsonArray([.. (capabilities is { Length: > 0 } ? capabilities : ["chat"]).Select(c => JsonValue.Create(c))]);
        // `if any([monthly_limit, daily_limit, requests_per_minute])`: Python truthiness, so 0 leaves limits out.
        if (monthlyLimit is not (null or 0) || dailyLimit is not (null or 0) || requestsPerMinute is not (null or 0))
        {
            var limits = new JsonObject();
            if (monthlyLimit is { } m) limits["monthly_spend"] = m;
            if (dailyLimit is { } d) limits["daily_spend"] = d;
            if (requestsPerMinute is { } r) limits["requests_per_minute"] = r;
            body["limits"] = limits;
        }
        if (expires is not null) body["expires"] = expires;
        if (reason is not null) body["reason"] = reason;
        if (appName is not null) body["app_name"] = appName;
        if (appUrl is not null) body["app_url"] = appUrl;

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(vaultUrl), "/okap/request"))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("User-Agent", HttpxUserAgent);
        request.Headers.TryAddWithoutValidation("Accept", "*/*");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip, deflate");
        using var response = await http.SendAsync(request);
        if (!response.IsSuccessStatusCode) throw new VaultError($"Vault returned error: {(int)response.StatusCode}");
        var reply = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        if (reply["approved"]?.GetValue<bool>() != true)
            throw new AccessDeniedError(reply["error"]?.GetValue<string>() ?? "Access denied", reply["error_code"]?.GetValue<string>());
        return reply["token"]?.AsObject() ?? throw new VaultError("Vault approved but returned no token");
    }
}

public sealed class PythonSdkTests : IDisposable
{
    private readonly VaultFactory _vault = new();

    public void Dispose() => _vault.Dispose();

    [Fact]
    public async Task Python_sdk_shows_the_validation_message_and_code_instead_of_a_bare_400()
    {
        await _vault.SignUpAsync("alice");
        var sdk = new PythonSdkReplica(_vault.ClientFor(), "http://localhost/some/path");

        var spend = await Assert.ThrowsAsync<PythonSdkReplica.AccessDeniedError>(() => sdk.RequestAccessAsync("openai", dailyLimit: -1));
        Assert.StartsWith("limits.daily_spend: must be between 0 and", spend.Message);
        Assert.Equal("invalid_request", spend.Code);

        var expires = await Assert.ThrowsAsync<PythonSdkReplica.AccessDeniedError>(() => sdk.RequestAccessAsync("openai", expires: "2001-01-01"));
        Assert.Equal("expires: expires must be in the future", expires.Message);

        // google is in the SDK's enum; a capability outside the route's set is refused with its field named.
        var capability = await Assert.ThrowsAsync<PythonSdkReplica.AccessDeniedError>(() => sdk.RequestAccessAsync("openai", capabilities: ["vision"]));
        Assert.StartsWith("capabilities[0]:", capability.Message);
    }

    [Fact]
    public async Task Python_sdk_shows_why_when_no_vault_lives_at_the_address()
    {
        _vault.Settings["Okap:Addressing:BaseDomain"] = "vault.test";
        await _vault.SignUpAsync("alice", "alice.vault.test");
        var sdk = new PythonSdkReplica(_vault.ClientFor("carol.vault.test"), "http://carol.vault.test");
        var ex = await Assert.ThrowsAsync<PythonSdkReplica.AccessDeniedError>(() => sdk.RequestAccessAsync("openai"));
        Assert.Equal("unknown_vault", ex.Code);
        Assert.Contains("no vault at this address", ex.Message);
    }

    [Fact]
    public async Task Other_clients_of_the_sdk_route_keep_the_http_status_and_error_body()
    {
        await _vault.SignUpAsync("alice");
        var plain = await _vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk(limits: new { daily_spend = -1 }));
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        var error = (await plain.JsonAsync())["error"]!;
        Assert.Equal("invalid_request", error["type"]!.GetValue<string>());
        Assert.Equal("limits.daily_spend", error["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Python_sdk_still_gets_its_token_when_approved_by_policy()
    {
        var owner = await _vault.SignUpAsync("alice");
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var token = await new PythonSdkReplica(_vault.ClientFor(), "http://localhost").RequestAccessAsync("openai", monthlyLimit: 5);
        Assert.StartsWith("okap_", token["token"]!.GetValue<string>());
        Assert.Equal("http://localhost/v1/openai", token["base_url"]!.GetValue<string>());
    }
}
