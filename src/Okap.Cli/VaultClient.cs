using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Okap.Protocol;

namespace Okap.Cli;

/// <summary>A bad command line or setting: exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The vault answered with an error (exit 1), or could not be reached or refused the key (exit 3).</summary>
internal sealed class VaultException(int exitCode, string message, string? param = null) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
    public string? Param { get; } = param;
}

/// <summary>One admin API reply: the body exactly as sent (what <c>--json</c> prints), and read as its Protocol record.</summary>
internal sealed record VaultReply<T>(string Raw, T Value);

/// <summary>
/// Talks to <c>/okap/admin/*</c> with <c>Authorization: Bearer okap_pat_…</c>. Paths are joined onto the vault URL as
/// absolute paths (like the SDKs), redirects are not followed, and the key never appears in a message.
/// </summary>
internal sealed class VaultClient : IDisposable
{
    public const string AccessKeyPrefix = "okap_pat_";
    private readonly HttpClient _http;
    private readonly Uri _vault;

    public VaultClient(Uri vault, string accessKey, HttpMessageHandler? handler)
    {
        _vault = vault;
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: true)
            : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = TimeSpan.FromSeconds(60);
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", accessKey);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("okap-cli", typeof(VaultClient).Assembly.GetName().Version?.ToString(3) ?? "1.0"));
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>Checks the vault URL: absolute http(s), no credentials, and plain http only to the loopback.</summary>
    public static Uri ParseVaultUrl(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new UsageException("no vault URL: set OKAP_VAULT_URL or pass --vault https://…");
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new UsageException("the vault URL must be an absolute https:// URL");
        }
        if (!string.IsNullOrEmpty(uri.UserInfo)) throw new UsageException("the vault URL must not carry credentials");
        if (uri.Scheme == Uri.UriSchemeHttp && !IsLoopback(uri))
        {
            throw new UsageException($"refusing plain http to {uri.Host}: the access key would travel unencrypted; use https (http is allowed only to localhost)");
        }
        return uri;
    }

    /// <summary>Checks the access key's form without ever echoing it.</summary>
    public static string CheckAccessKey(string? key)
    {
        if (string.IsNullOrWhiteSpace(key)) throw new UsageException("no access key: set OKAP_ACCESS_KEY to a personal access key (okap_pat_…) created on the vault's page");
        key = key.Trim();
        if (!key.StartsWith(AccessKeyPrefix, StringComparison.Ordinal) || key.Length > 200 || key.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new UsageException("the access key is not a personal access key (it starts with okap_pat_)");
        }
        return key;
    }

    private static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase)
        || uri.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    public Task<VaultReply<T>> GetAsync<T>(string path, JsonTypeInfo<T> reply, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, reply, ct);

    /// <summary>Sends <paramref name="body"/> (see <see cref="Body"/>; null: none) and reads the reply as <typeparamref name="T"/>.</summary>
    public async Task<VaultReply<T>> SendAsync<T>(HttpMethod method, string path, HttpContent? body, JsonTypeInfo<T> reply, CancellationToken ct)
    {
        var raw = await SendAsync(method, path, body, ct);
        try
        {
            return new VaultReply<T>(raw, JsonSerializer.Deserialize(raw, reply) ?? throw new JsonException("the reply is null"));
        }
        catch (JsonException ex)
        {
            throw new VaultException(1, $"the vault's reply is not what this okap reads ({ex.Message}): is the vault of another version?");
        }
    }

    /// <summary>A call whose reply is not read (a delete, answered 204): the body exactly as sent.</summary>
    public async Task<string> SendAsync(HttpMethod method, string path, HttpContent? body, CancellationToken ct)
    {
        using var response = await ExchangeAsync(method, path, body, HttpCompletionOption.ResponseContentRead, ct);
        var raw = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode) return raw;
        throw Refusal(response, raw);
    }

    /// <summary>A request body: a Protocol body record, source-generated JSON.</summary>
    public static HttpContent Body<T>(T body, JsonTypeInfo<T> type) => new StringContent(JsonSerializer.Serialize(body, type), Encoding.UTF8, "application/json");

    /// <summary>Copies a successful reply's body to <paramref name="output"/> unchanged as it arrives (CSV exports), without holding it whole.</summary>
    public async Task CopyToAsync(string path, TextWriter output, CancellationToken ct)
    {
        using var response = await ExchangeAsync(HttpMethod.Get, path, null, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode) throw Refusal(response, await response.Content.ReadAsStringAsync(ct));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct), Encoding.UTF8);
        var buffer = new char[16 * 1024];
        int read;
        while ((read = await reader.ReadAsync(buffer, ct)) > 0) await output.WriteAsync(buffer.AsMemory(0, read), ct);
        await output.FlushAsync(ct);
    }

    private async Task<HttpResponseMessage> ExchangeAsync(HttpMethod method, string path, HttpContent? body, HttpCompletionOption completion, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, new Uri(_vault, path)) { Content = body };
        try
        {
            return await _http.SendAsync(request, completion, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new VaultException(3, $"cannot reach the vault at {Origin}: {ex.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new VaultException(3, $"the vault at {Origin} did not answer in time");
        }
    }

    private static VaultException Refusal(HttpResponseMessage response, string raw)
    {
        var error = ErrorOf(raw);
        var message = error?.Message;
        var param = error?.Param;
        var status = (int)response.StatusCode;
        if (response.StatusCode is HttpStatusCode.Forbidden && error?.Type == "insufficient_scope")
        {
            // The vault names the scope the route needs: say which, and where a key with it is made.
            return new VaultException(3, param is null
                ? $"not allowed with an access key ({status}): {message}. Do this on the vault's page."
                : $"this command needs an access key with the '{param}' scope ({status}); OKAP_ACCESS_KEY lacks it. Create one with that scope on the vault's page (Access keys).", param);
        }
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            return new VaultException(3, $"not authorised by the vault ({status}): {message ?? response.ReasonPhrase}. Check OKAP_ACCESS_KEY (revoked or expired keys stop working).");
        }
        if (status is >= 300 and < 400)
        {
            return new VaultException(3, $"the vault answered {status} (a redirect, not followed): check the vault URL");
        }
        if (message is null)
        {
            // Not the vault's error shape: most likely not a vault (or a proxy in front of it failed).
            return new VaultException(response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout ? 3 : 1,
                $"the vault answered {status} {response.ReasonPhrase}");
        }
        return new VaultException(1, message, param);
    }

    private string Origin => _vault.GetLeftPart(UriPartial.Authority);

    /// <summary>The vault's error body <c>{"error": {"type", "message", "param"}}</c>; null for any other body (a proxy's page, nothing).</summary>
    private static OkapError? ErrorOf(string raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return null;
        try
        {
            return JsonSerializer.Deserialize(raw, OkapJsonContext.Default.OkapErrorBody)?.Error;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Dispose() => _http.Dispose();
}
