using System.Text;

namespace Okap.Testing.Vaults;

/// <summary>Where a vault under test keeps its records.</summary>
public enum StoreKind
{
    Sqlite,
    Azurite,
}

/// <summary>
/// A running vault that tests talk to over real HTTP, whatever hosts it: the self-hosted server (on SQLite or on
/// Azurite) or the Functions app under the real Functions host. Each host's test project implements the few abstract
/// members; the behaviour suite (<c>Okap.Testing.Behaviour</c>) is written against this class alone.
/// </summary>
public abstract class VaultUnderTest : IAsyncDisposable
{
    /// <summary>The password every account the helpers create gets.</summary>
    public const string Password = "correct horse battery";

    /// <summary>Root URL on the loopback, e.g. <c>http://127.0.0.1:41234</c>; also the vault's <c>Okap:PublicUrl</c>.</summary>
    public abstract string Url { get; }

    /// <summary>Where the records are.</summary>
    public abstract StoreKind Store { get; }

    /// <summary>What hosts the vault, for messages (<c>server</c>, <c>Functions host</c>).</summary>
    public abstract string HostKind { get; }

    /// <summary>The per-person base domain (<c>Okap:Addressing:BaseDomain</c>), or null for a single-user vault.</summary>
    public abstract string? BaseDomain { get; }

    /// <summary>Everything the vault has logged so far, at the levels its host keeps.</summary>
    public abstract string LogText { get; }

    /// <summary>Everything the vault has stored (database bytes, or every table entity), as text.</summary>
    public abstract Task<string> StoredTextAsync();

    /// <summary>The one-time setup secret of a vault with no account yet, as the vault shows it to the operator.</summary>
    public abstract Task<string> SetupTokenAsync();

    public abstract ValueTask DisposeAsync();

    /// <summary>A client over real HTTP that keeps its own cookies and follows no redirects; <paramref name="hostName"/> sets the Host header.</summary>
    public HttpClient Client(string? hostName = null)
    {
        var jar = new CookieContainer();
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = jar })
        {
            BaseAddress = new Uri(Url),
            Timeout = TimeSpan.FromSeconds(60),
        };
        if (hostName is not null) client.DefaultRequestHeaders.Host = hostName;
        Jars.AddOrUpdate(client, jar);
        return client;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<HttpClient, CookieContainer> Jars = new();

    /// <summary>
    /// A new client sending exactly what <paramref name="client"/> (made by <see cref="Client"/>) sends: its cookies, Host and
    /// anti-forgery header. A stolen cookie jar, to show what the server still accepts from it.
    /// </summary>
    public HttpClient CopyOf(HttpClient client)
    {
        Assert.True(Jars.TryGetValue(client, out var jar), "the client was not made by VaultUnderTest.Client");
        var copy = Client();
        if (client.DefaultRequestHeaders.Host is { } host) copy.DefaultRequestHeaders.Host = host;
        Jars.TryGetValue(copy, out var copyJar);
        foreach (Cookie cookie in jar!.GetAllCookies()) copyJar!.Add(new Cookie(cookie.Name, cookie.Value, cookie.Path, cookie.Domain));
        if (client.DefaultRequestHeaders.TryGetValues("X-CSRF-TOKEN", out var csrf)) copy.DefaultRequestHeaders.Add("X-CSRF-TOKEN", csrf);
        return copy;
    }

    /// <summary>Reads the session's anti-forgery token and sends it on every later call of <paramref name="client"/>.</summary>
    public static async Task ArmCsrfAsync(HttpClient client)
    {
        var session = await client.GetFromJsonAsync<JsonObject>("/okap/account/session");
        client.DefaultRequestHeaders.Remove("X-CSRF-TOKEN");
        client.DefaultRequestHeaders.Add("X-CSRF-TOKEN", session!["csrf_token"]!.GetValue<string>());
    }

    /// <summary>A user name no other test of the run uses.</summary>
    public static string NewUserName(string stem = "o") => stem + Guid.NewGuid().ToString("N")[..10];

    /// <summary>The host name of <paramref name="userName"/>'s own vault, or null on a single-user vault.</summary>
    public string? HostNameOf(string userName) => BaseDomain is null ? null : $"{userName}.{BaseDomain}";

    /// <summary>
    /// Creates an account (registration must be open, or <paramref name="setupToken"/> given) and returns its owner,
    /// signed in with the cookie and the anti-forgery header set.
    /// </summary>
    public async Task<VaultOwner> SignUpAsync(string? userName = null, string? setupToken = null)
    {
        userName ??= NewUserName();
        var host = HostNameOf(userName);
        var client = Client(host);
        var created = await client.PostAsJsonAsync("/okap/account/setup", new { setup_token = setupToken, user_name = userName, password = Password });
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"setup of {userName} on the {HostKind}: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        await ArmCsrfAsync(client);
        return new VaultOwner(this, client, userName, host);
    }

    /// <summary>Signs in an existing account with a fresh client; anti-forgery header set.</summary>
    public async Task<HttpClient> SignInAsync(string userName, string password = Password)
    {
        var client = Client(HostNameOf(userName));
        var login = await client.PostAsJsonAsync("/okap/account/login", new { user_name = userName, password });
        Assert.True(login.StatusCode == HttpStatusCode.OK, $"sign-in of {userName}: {(int)login.StatusCode}");
        await ArmCsrfAsync(client);
        return client;
    }

    /// <summary>A client signed in by App Service Authentication's <c>X-MS-CLIENT-PRINCIPAL</c> header (trusted vaults only).</summary>
    public HttpClient PlatformClient(string objectId, string name, string? hostName = null)
    {
        var client = Client(hostName);
        client.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL", Principal(objectId, name));
        return client;
    }

    /// <summary>The value App Service Authentication puts in <c>X-MS-CLIENT-PRINCIPAL</c> for a signed-in Entra user.</summary>
    public static string Principal(string objectId, string name) => Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject
    {
        ["auth_typ"] = "aad",
        ["claims"] = new JsonArray(
            new JsonObject { ["typ"] = "http://schemas.microsoft.com/identity/claims/objectidentifier", ["val"] = objectId },
            new JsonObject { ["typ"] = "name", ["val"] = name }),
    }.ToJsonString()));
}

/// <summary>An account on a vault under test: its signed-in admin client and the host name its apps use.</summary>
public sealed record VaultOwner(VaultUnderTest Vault, HttpClient Admin, string UserName, string? HostName)
{
    /// <summary>A client the way an app talks to this owner's vault: no session, the owner's host name.</summary>
    public HttpClient App() => Vault.Client(HostName);

    /// <summary>The id of <paramref name="appName"/>'s pending request, once it shows on the owner's list.</summary>
    public async Task<string> PendingIdAsync(string appName)
    {
        for (var i = 0; i < 200; i++)
        {
            var items = (await Admin.GetFromJsonAsync<JsonObject>("/okap/admin/requests?status=pending"))!["items"]!.AsArray();
            if (items.FirstOrDefault(r => r!["app_name"]?.GetValue<string>() == appName) is { } found) return found["id"]!.GetValue<string>();
            await Task.Delay(50);
        }
        throw new TimeoutException($"no pending request of {appName}");
    }

    /// <summary>Approves (optionally narrowing with <paramref name="body"/>) and fails the test on anything but 200.</summary>
    public async Task ApproveAsync(string requestId, object? body = null)
    {
        var response = body is null
            ? await Admin.PostAsync($"/okap/admin/requests/{requestId}/approve", null)
            : await Admin.PostAsJsonAsync($"/okap/admin/requests/{requestId}/approve", body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"approve {requestId}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Stores <paramref name="key"/> as this owner's master key for <paramref name="provider"/>.</summary>
    public async Task SetKeyAsync(string key, string provider = "openai") =>
        (await Admin.PutAsJsonAsync($"/okap/admin/keys/{provider}", new { key })).EnsureSuccessStatusCode();

    /// <summary>
    /// A token for a new app of this owner, granted at once by an auto-approve policy for that app alone (the owner's
    /// master key must be set for calls to go through). Returns the token and its id.
    /// </summary>
    public async Task<(string Token, string TokenId)> TokenAsync(string appName, object? limits = null)
    {
        (await Admin.PostAsJsonAsync("/okap/admin/policies", new { name = appName, app_name = appName, providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await App().PostAsJsonAsync("/okap/request", Bodies.Sdk(app: appName, limits: limits))).JsonAsync();
        Assert.True(granted["approved"]!.GetValue<bool>(), granted.ToJsonString());
        var tokens = (await Admin.GetFromJsonAsync<JsonObject>("/okap/admin/tokens"))!["items"]!.AsArray();
        var tokenId = tokens.Single(t => t!["app_name"]!.GetValue<string>() == appName)!["id"]!.GetValue<string>();
        return (granted["token"]!["token"]!.GetValue<string>(), tokenId);
    }
}
