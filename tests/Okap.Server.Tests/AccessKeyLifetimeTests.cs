using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Okap.Core;
using Okap.Core.Accounts;

namespace Okap.Server.Tests;

/// <summary>Access keys expire on the vault's clock (a fake one here), and keys from before scopes keep what they could do. SQLite, or Azurite with OKAP_TEST_STORE=azure.</summary>
public sealed class AccessKeyLifetimeTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly VaultFactory _vault;

    public AccessKeyLifetimeTests()
    {
        _vault = new VaultFactory { Time = _time };
        _vault.Settings["Okap:MaxAccessKeyLifetime"] = "30.00:00:00";
        _vault.Settings["Okap:DefaultAccessKeyLifetime"] = "7.00:00:00";
        _vault.UseLoopbackKestrel();
    }

    public void Dispose() => _vault.Dispose();

    private HttpClient KeyClient(string secret)
    {
        var client = _vault.ClientFor();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }

    [Fact]
    public async Task A_key_works_until_its_expiry_and_is_401_from_then_on()
    {
        var owner = await _vault.SignUpAsync("alice");
        var tooLong = await owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "ci", scopes = new[] { "read" }, expires_in_days = 31 });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("1 to 30 days", (await tooLong.JsonAsync())["error"]!["message"]!.GetValue<string>());

        var made = await (await owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "ci", scopes = new[] { "read" } })).JsonAsync();
        Assert.Equal(_time.GetUtcNow().AddDays(7), made["key"]!["expires_at"]!.GetValue<DateTimeOffset>(), TimeSpan.FromSeconds(1));
        var key = KeyClient(made["secret"]!.GetValue<string>());

        _time.Advance(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, (await key.GetAsync("/okap/admin/tokens")).StatusCode);
        _time.Advance(TimeSpan.FromMinutes(1));
        var expired = await key.GetAsync("/okap/admin/tokens");
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);

        // The owner sees it expired (a new session: the old cookie has aged out on the same clock).
        var session = _vault.ClientFor();
        (await session.PostAsJsonAsync("/okap/account/login", new { user_name = "alice", password = "correct horse battery" })).EnsureSuccessStatusCode();
        var listed = (await session.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!.Single()!;
        Assert.True(listed["expires_at"]!.GetValue<DateTimeOffset>() <= _time.GetUtcNow());
    }

    [Fact]
    public async Task Last_use_is_written_at_most_every_few_minutes_not_on_every_call()
    {
        var owner = await _vault.SignUpAsync("alice");
        var made = await (await owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "ci", scopes = new[] { "read" } })).JsonAsync();
        var key = KeyClient(made["secret"]!.GetValue<string>());
        async Task<DateTimeOffset> LastUsedAsync() =>
            (await owner.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!.Single()!["last_used_at"]!.GetValue<DateTimeOffset>();

        var first = _time.GetUtcNow();
        (await key.GetAsync("/okap/admin/tokens")).EnsureSuccessStatusCode();
        Assert.Equal(first, await LastUsedAsync(), TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromMinutes(2));
        (await key.GetAsync("/okap/admin/tokens")).EnsureSuccessStatusCode();
        Assert.Equal(first, await LastUsedAsync(), TimeSpan.FromSeconds(1));
        _time.Advance(TimeSpan.FromMinutes(4));
        (await key.GetAsync("/okap/admin/tokens")).EnsureSuccessStatusCode();
        Assert.Equal(_time.GetUtcNow(), await LastUsedAsync(), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_key_stored_before_scopes_keeps_every_admin_scope_but_not_key_management_and_is_shown_as_legacy()
    {
        var owner = await _vault.SignUpAsync("alice");
        var ownerId = (await owner.GetFromJsonAsync<JsonObject>("/okap/account/session"))!["owner_id"]!.GetValue<string>();
        // Written the way the stores held keys before scopes: no scopes, no expiry.
        var secret = Secrets.NewAccessKey();
        await _vault.Services.GetRequiredService<IAccessKeyStore>().CreateAsync(new PersonalAccessKey
        {
            Id = Secrets.NewId("pat"), OwnerId = ownerId, Name = "old script", Hash = Secrets.Hash(secret),
            DisplayPrefix = Secrets.DisplayPrefix(secret), CreatedAt = _time.GetUtcNow(),
        }, CancellationToken.None);
        var key = KeyClient(secret);

        Assert.Equal(HttpStatusCode.OK, (await key.GetAsync("/okap/admin/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await key.PostAsJsonAsync("/okap/admin/policies", new { name = "p", app_name = "a", providers = new[] { "openai" } })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await key.PostAsync("/okap/admin/tokens/tok_missing/revoke", null)).StatusCode);
        var mint = await key.PostAsJsonAsync("/okap/admin/access-keys", new { name = "successor", scopes = new[] { "read" } });
        Assert.Equal(HttpStatusCode.Forbidden, mint.StatusCode);

        var listed = (await owner.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys"))!.Single()!;
        Assert.True(listed["legacy_scopes"]!.GetValue<bool>());
        Assert.Equal(["read", "approve", "keys"], listed["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Null(listed["expires_at"]);
    }
}
