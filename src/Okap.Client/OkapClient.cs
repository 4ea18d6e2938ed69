using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Okap.Protocol;

namespace Okap.Client;

/// <summary>
/// Asks a person's OKAP vault for access to their AI-provider keys. Two shapes:
/// <see cref="RequestAccessAsync"/> speaks the Python SDK's <c>POST /okap/request</c> (one provider, the vault holds
/// the call for a bounded wait), <see cref="AuthorizeAsync"/> the specification's <c>POST /okap/authorize</c>
/// (several providers, a pending reply polled with <see cref="WaitForDecisionAsync"/>).
/// Thread-safe; no secret ever appears in an exception message or <c>ToString()</c>.
/// </summary>
public sealed partial class OkapClient : IDisposable
{
    /// <summary>The longest <c>wait</c> one poll asks for; the vault caps it at 25 s too.</summary>
    public static readonly TimeSpan MaxPollWait = TimeSpan.FromSeconds(25);

    /// <summary>The shortest gap between two polls when the vault answers before the wait asked for.</summary>
    private static readonly TimeSpan MinPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The most of an error body that is read (error bodies are small).</summary>
    private const int MaxErrorBodyBytes = 64 * 1024;

    private static readonly ProductInfoHeaderValue UserAgent = new("okap-dotnet", typeof(OkapClient).Assembly.GetName().Version?.ToString(3) ?? "1.0.0");
    private static readonly MediaTypeWithQualityHeaderValue AcceptJson = new("application/json");

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly OkapClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Uri _requestUrl;
    private readonly Uri _authorizeUrl;
    private bool _disposed;

    /// <summary>A client on the caller's <see cref="HttpClient"/> (which it does not dispose).</summary>
    /// <param name="http">The HTTP client to send with; its <c>BaseAddress</c> is not used. Give it a timeout above 25 s: the vault may hold a call that long.</param>
    /// <param name="options">The vault URL and who is asking.</param>
    /// <exception cref="ArgumentNullException"><paramref name="http"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid (e.g. <see cref="OkapClientOptions.VaultUrl"/> is not an absolute https URL).</exception>
    public OkapClient(HttpClient http, OkapClientOptions options) : this(http, options, TimeProvider.System)
    {
    }

    /// <summary>A client on the caller's <see cref="HttpClient"/> and clock (used for <see cref="WaitForDecisionAsync"/>'s deadline).</summary>
    /// <param name="http">The HTTP client to send with; its <c>BaseAddress</c> is not used.</param>
    /// <param name="options">The vault URL and who is asking.</param>
    /// <param name="timeProvider">The clock for waiting deadlines and poll spacing.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public OkapClient(HttpClient http, OkapClientOptions options, TimeProvider timeProvider)
        : this(http ?? throw new ArgumentNullException(nameof(http)), options, timeProvider, nameof(options))
    {
    }

    /// <summary>A client with its own <see cref="HttpClient"/> (disposed with this client), like the Python SDK's <c>OkapClient(vault_url, app_name)</c>.</summary>
    /// <param name="vaultUrl">The person's vault URL, e.g. <c>https://alice.vault.example.com</c>.</param>
    /// <param name="appName">The app's name as the person sees it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="vaultUrl"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="vaultUrl"/> is not an absolute https URL (http only to the loopback), or <paramref name="appName"/> is empty.</exception>
    public OkapClient(Uri vaultUrl, string appName) : this(null, ConvenienceOptions(vaultUrl, appName), TimeProvider.System, nameof(vaultUrl))
    {
    }

    private OkapClient(HttpClient? http, OkapClientOptions options, TimeProvider timeProvider, string optionsParam)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var vaultUrl = CheckVaultUrl(options.VaultUrl, options.AllowInsecureHttp, optionsParam);
        if (options.AppUrl is { } appUrl && !IsAbsoluteHttp(appUrl))
        {
            throw new ArgumentException("AppUrl must be an absolute http(s) URL.", optionsParam);
        }
        if (options.Callback is { IsAbsoluteUri: false })
        {
            throw new ArgumentException("Callback must be an absolute URL.", optionsParam);
        }
        _options = options;
        _time = timeProvider;
        _requestUrl = new Uri(vaultUrl, OkapPaths.Format(OkapPaths.Request));
        _authorizeUrl = new Uri(vaultUrl, OkapPaths.Format(OkapPaths.Authorize));
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The vault URL this client talks to.</summary>
    public Uri VaultUrl => _options.VaultUrl;

    /// <summary>
    /// Asks for access to one provider in the Python SDK's shape (<c>POST /okap/request</c> at the vault's host root).
    /// The vault may hold the call while the person decides; if they approve in time, or a policy approves at once,
    /// this returns the token.
    /// </summary>
    /// <param name="request">What to ask for.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The granted access: token, base URL and what was granted.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="request"/> is invalid (e.g. no provider).</exception>
    /// <exception cref="OkapPendingException">The person has not decided yet; send the same request again after they approve.</exception>
    /// <exception cref="OkapAccessDeniedException">The vault answered <c>approved: false</c>; see <see cref="OkapAccessDeniedException.ErrorCode"/>.</exception>
    /// <exception cref="OkapVaultException">The vault could not be reached, answered non-2xx, or sent an invalid reply.</exception>
    public async Task<OkapAccess> RequestAccessAsync(AccessRequestOptions request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate(nameof(request), nameof(request));
        ObjectDisposedException.ThrowIf(_disposed, this);

        var body = new OkapAccessRequest
        {
            Okap = OkapVersion.Current,
            Provider = request.Provider,
            Models = request.WireModels(),
            Capabilities = request.WireCapabilities(),
            Limits = request.Limits,
            Expires = request.WireExpires(),
            Reason = request.Reason,
            AppName = _options.AppName,
            AppUrl = _options.AppUrl?.AbsoluteUri,
            RedirectUri = _options.Callback?.AbsoluteUri,
        };
        using var response = await SendAsync(HttpMethod.Post, _requestUrl, Json(body, OkapJsonContext.Default.OkapAccessRequest), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await VaultErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var reply = await ReadAsync(response, OkapJsonContext.Default.OkapAccessResponse, cancellationToken).ConfigureAwait(false);

        if (!reply.Approved)
        {
            var message = string.IsNullOrWhiteSpace(reply.Error) ? "The vault did not approve the request." : reply.Error;
            if (reply.ErrorCode == OkapErrorCodes.Pending)
            {
                var approveUrl = ApproveLinkIn(message);
                throw new OkapPendingException(message, approveUrl, RequestIdIn(approveUrl));
            }
            throw new OkapAccessDeniedException(message, reply.ErrorCode);
        }
        if (reply.Token is not { } grant) throw new OkapVaultException("The vault approved the request but sent no token.", response.StatusCode);
        return new OkapAccess
        {
            Token = grant.Token,
            BaseUrl = BaseUrlOf(grant.BaseUrl, response.StatusCode),
            Provider = grant.Provider,
            Models = grant.Models,
            Capabilities = grant.Capabilities,
            Limits = grant.Limits,
            ExpiresAt = ParseTime(grant.ExpiresAt),
            CreatedAt = ParseTime(grant.CreatedAt),
        };
    }

    /// <summary>
    /// Asks for access to one or more providers in the specification's shape (<c>POST /okap/authorize</c> at the vault's
    /// host root, <c>authorization_details</c> of type <c>ai_model_access</c>, <c>client</c> from the options).
    /// Returns at once: granted when a policy approves, otherwise pending with a poll URL for <see cref="WaitForDecisionAsync"/>.
    /// </summary>
    /// <param name="details">One entry per provider (each provider at most once).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>An <see cref="OkapGrantedAuthorization"/> or an <see cref="OkapPendingAuthorization"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="details"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="details"/> is empty, holds a null or invalid entry, or names a provider twice.</exception>
    /// <exception cref="InvalidOperationException"><see cref="OkapClientOptions.AppName"/> is not set (the specification requires <c>client.name</c>).</exception>
    /// <exception cref="OkapAccessDeniedException">The vault denied the request at once.</exception>
    /// <exception cref="OkapVaultException">The vault could not be reached, answered non-2xx, or sent an invalid reply.</exception>
    public async Task<OkapAuthorization> AuthorizeAsync(IEnumerable<AccessRequestOptions> details, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(details);
        var list = details.ToList();
        if (list.Count == 0) throw new ArgumentException("Name at least one provider.", nameof(details));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            var entry = list[i] ?? throw new ArgumentException($"details[{i}] is null.", nameof(details));
            entry.Validate(nameof(details), $"details[{i}]");
            if (!seen.Add(entry.Provider)) throw new ArgumentException($"details[{i}].Provider '{entry.Provider}' is named twice.", nameof(details));
        }
        if (string.IsNullOrWhiteSpace(_options.AppName))
        {
            throw new InvalidOperationException("AuthorizeAsync needs OkapClientOptions.AppName: the specification requires client.name.");
        }
        ObjectDisposedException.ThrowIf(_disposed, this);

        var body = new OkapAuthorizeRequest
        {
            Okap = OkapVersion.Current,
            AuthorizationDetails = list.Select(d => new AuthorizationDetail
            {
                Type = AuthorizationDetail.AiModelAccess,
                Provider = d.Provider,
                Models = d.WireModels(),
                Capabilities = d.WireCapabilities(),
                Limits = d.Limits,
                Expires = d.WireExpires(),
                Reason = d.Reason,
            }).ToList(),
            Client = new OkapClientInfo { Name = _options.AppName, Url = _options.AppUrl?.AbsoluteUri, Callback = _options.Callback?.AbsoluteUri },
        };
        using var response = await SendAsync(HttpMethod.Post, _authorizeUrl, Json(body, OkapJsonContext.Default.OkapAuthorizeRequest), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await VaultErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var reply = await ReadAsync(response, OkapJsonContext.Default.OkapAuthorizeResponse, cancellationToken).ConfigureAwait(false);
        return ToAuthorization(reply, response.StatusCode, previous: null);
    }

    /// <summary>
    /// Polls a pending authorization's <see cref="OkapPendingAuthorization.PollUrl"/> (with <c>&amp;wait=</c>, at most
    /// 25 s a poll) until the person decides or <paramref name="maxWait"/> has passed on this client's
    /// <see cref="TimeProvider"/>. A granted authorization is returned as it is.
    /// </summary>
    /// <param name="pending">What <see cref="AuthorizeAsync"/> (or an earlier wait) returned.</param>
    /// <param name="maxWait">How long to wait in all; <see cref="Timeout.InfiniteTimeSpan"/> waits until the request is decided or expires. Zero polls once.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>The granted authorization (the token is handed over once), or the still-pending one when the time ran out.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pending"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxWait"/> is negative (other than infinite).</exception>
    /// <exception cref="OkapAccessDeniedException">The person denied the request (<c>access_denied</c>), it expired (<c>request_expired</c>), or its token was already handed over (<c>already_claimed</c>).</exception>
    /// <exception cref="OkapVaultException">The vault could not be reached, answered with another non-2xx status (404: unknown request or handle), or sent an invalid reply.</exception>
    public async Task<OkapAuthorization> WaitForDecisionAsync(OkapAuthorization pending, TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pending);
        var infinite = maxWait == Timeout.InfiniteTimeSpan;
        if (!infinite) ArgumentOutOfRangeException.ThrowIfLessThan(maxWait, TimeSpan.Zero);
        if (pending is OkapGrantedAuthorization) return pending;
        if (pending is not OkapPendingAuthorization current) throw new ArgumentException("Not an authorization this client returned.", nameof(pending));
        var pollUrl = CheckPollUrl(current.PollUrl, nameof(pending));
        ObjectDisposedException.ThrowIf(_disposed, this);

        var started = _time.GetTimestamp();
        while (true)
        {
            var left = infinite ? MaxPollWait : maxWait - _time.GetElapsedTime(started);
            var waitSeconds = (int)Math.Clamp(Math.Floor(left.TotalSeconds), 0, MaxPollWait.TotalSeconds);
            var polledAt = _time.GetTimestamp();
            var result = await PollOnceAsync(current, pollUrl, waitSeconds, cancellationToken).ConfigureAwait(false);
            if (result is not OkapPendingAuthorization stillPending) return result;
            current = stillPending;

            left = infinite ? MaxPollWait : maxWait - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero) return current;
            // The vault answered before the wait asked for (it caps waits, or less than a second was left): do not hammer it.
            var took = _time.GetElapsedTime(polledAt);
            if (took < MinPollInterval)
            {
                await Task.Delay(Min(MinPollInterval - took, left), _time, cancellationToken).ConfigureAwait(false);
                if (!infinite && _time.GetElapsedTime(started) >= maxWait) return current;
            }
        }
    }

    /// <summary>Disposes the <see cref="HttpClient"/> if this client created it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_ownsHttp) _http.Dispose();
    }

    private async Task<OkapAuthorization> PollOnceAsync(OkapPendingAuthorization current, Uri pollUrl, int waitSeconds, CancellationToken ct)
    {
        var query = pollUrl.Query;
        var url = new Uri(pollUrl.GetComponents(UriComponents.HttpRequestUrl, UriFormat.UriEscaped)
            + (string.IsNullOrEmpty(query) ? "?" : "&") + "wait=" + waitSeconds.ToString(CultureInfo.InvariantCulture));
        using var response = await SendAsync(HttpMethod.Get, url, content: null, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Gone)
        {
            var gone = await ReadErrorAsync(response, ct).ConfigureAwait(false);
            throw new OkapAccessDeniedException(
                gone?.Message is { Length: > 0 } text ? text : "The token for this request was already handed over.",
                gone?.Type ?? OkapErrorCodes.AlreadyClaimed, current.RequestId);
        }
        if (!response.IsSuccessStatusCode) throw await VaultErrorAsync(response, ct).ConfigureAwait(false);
        var reply = await ReadAsync(response, OkapJsonContext.Default.OkapAuthorizeResponse, ct).ConfigureAwait(false);
        return ToAuthorization(reply, response.StatusCode, current);
    }

    private OkapAuthorization ToAuthorization(OkapAuthorizeResponse reply, HttpStatusCode status, OkapPendingAuthorization? previous)
    {
        var requestId = reply.RequestId ?? previous?.RequestId;
        switch (reply.Status)
        {
            case AuthorizeStatus.Granted:
                if (string.IsNullOrEmpty(reply.Token)) throw new OkapVaultException("The vault granted the request but sent no token.", status);
                var grants = new List<OkapGrant>();
                foreach (var detail in reply.AuthorizationDetails ?? [])
                {
                    if (detail is null || string.IsNullOrEmpty(detail.Provider)) continue;
                    grants.Add(new OkapGrant
                    {
                        Provider = detail.Provider,
                        BaseUrl = BaseUrlOf(detail.BaseUrl, status),
                        Models = detail.Models ?? [],
                        Capabilities = detail.Capabilities ?? [],
                        Limits = detail.Limits,
                        ExpiresAt = ParseTime(detail.Expires),
                    });
                }
                return new OkapGrantedAuthorization { RequestId = requestId, Token = reply.Token, Grants = grants };
            case AuthorizeStatus.Pending:
                Uri? pollUrl = null;
                if (reply.PollUrl is { Length: > 0 } text)
                {
                    if (!Uri.TryCreate(_options.VaultUrl, text, out pollUrl) || !IsAbsoluteHttp(pollUrl)) throw new OkapVaultException("The vault sent an invalid poll_url.", status);
                }
                pollUrl ??= previous?.PollUrl ?? throw new OkapVaultException("The vault replied pending but sent no poll_url.", status);
                return new OkapPendingAuthorization
                {
                    RequestId = requestId,
                    PollUrl = pollUrl,
                    ApproveUrl = Uri.TryCreate(reply.ApproveUrl, UriKind.Absolute, out var approve) ? approve : previous?.ApproveUrl,
                    ExpiresAt = ParseTime(reply.ExpiresAt) ?? previous?.ExpiresAt,
                };
            case AuthorizeStatus.Denied:
                throw new OkapAccessDeniedException(string.IsNullOrWhiteSpace(reply.Reason) ? "The vault owner declined the request." : reply.Reason,
                    OkapErrorCodes.Denied, requestId);
            case AuthorizeStatus.Expired:
                throw new OkapAccessDeniedException(string.IsNullOrWhiteSpace(reply.Reason) ? "The request expired before the vault owner decided." : reply.Reason,
                    OkapErrorCodes.Expired, requestId);
            default:
                throw new OkapVaultException("The vault replied with an unknown status.", status);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, HttpContent? content, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(method, url) { Content = content };
        message.Headers.Accept.Add(AcceptJson);
        message.Headers.UserAgent.Add(UserAgent);
        try
        {
            return await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            // The message names the vault's host at most; never the URL's query (where poll handles travel).
            throw new OkapVaultException($"Could not reach the vault at {_options.VaultUrl.GetLeftPart(UriPartial.Authority)}.", e.StatusCode, innerException: e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new OkapVaultException($"The vault at {_options.VaultUrl.GetLeftPart(UriPartial.Authority)} did not answer within the HTTP client's timeout.", innerException: e);
        }
    }

    private static ByteArrayContent Json<T>(T body, JsonTypeInfo<T> typeInfo)
    {
        // Sent with a Content-Length (not chunked), as the Python SDK does.
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, typeInfo));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> typeInfo, CancellationToken ct) where T : class
    {
        try
        {
            return await response.Content.ReadFromJsonAsync(typeInfo, ct).ConfigureAwait(false)
                ?? throw new OkapVaultException("The vault sent an empty reply.", response.StatusCode);
        }
        catch (JsonException e)
        {
            // System.Text.Json names the path at fault, never the values (which may hold the token).
            throw new OkapVaultException("The vault's reply is not valid OKAP JSON.", response.StatusCode, innerException: e);
        }
        catch (HttpRequestException e)
        {
            throw new OkapVaultException("The vault's reply could not be read.", response.StatusCode, innerException: e);
        }
    }

    private static async Task<OkapVaultException> VaultErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var error = await ReadErrorAsync(response, ct).ConfigureAwait(false);
        var status = (int)response.StatusCode;
        var text = new StringBuilder("Vault returned error: ").Append(status.ToString(CultureInfo.InvariantCulture));
        if (error is not null)
        {
            text.Append(" (").Append(error.Type).Append(')');
            if (!string.IsNullOrWhiteSpace(error.Message)) text.Append(": ").Append(error.Message);
            if (!string.IsNullOrWhiteSpace(error.Param)) text.Append(" [param: ").Append(error.Param).Append(']');
        }
        else if (!string.IsNullOrEmpty(response.ReasonPhrase))
        {
            text.Append(' ').Append(response.ReasonPhrase);
        }
        return new OkapVaultException(text.ToString(), response.StatusCode, error?.Type, error?.Message, error?.Param);
    }

    /// <summary>The protocol's error body, when the reply carries one; null otherwise (never throws for a malformed body).</summary>
    private static async Task<OkapError?> ReadErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var buffer = new byte[MaxErrorBodyBytes];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false)) > 0) length += read;
            if (length == 0 || length == buffer.Length) return null;
            return JsonSerializer.Deserialize(buffer.AsSpan(0, length), OkapJsonContext.Default.OkapErrorBody)?.Error;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private Uri CheckPollUrl(Uri? pollUrl, string paramName)
    {
        if (pollUrl is null || !IsAbsoluteHttp(pollUrl)) throw new ArgumentException("The authorization has no absolute http(s) poll URL.", paramName);
        if (pollUrl.Scheme == Uri.UriSchemeHttp && !pollUrl.IsLoopback && !_options.AllowInsecureHttp)
        {
            throw new ArgumentException("The poll URL is plain http: its handle fetches a token, so it is only sent over https (or set AllowInsecureHttp).", paramName);
        }
        return pollUrl;
    }

    private static Uri CheckVaultUrl(Uri? vaultUrl, bool allowInsecureHttp, string paramName)
    {
        if (vaultUrl is null) throw new ArgumentException("VaultUrl is required.", paramName);
        if (!IsAbsoluteHttp(vaultUrl)) throw new ArgumentException("VaultUrl must be an absolute http(s) URL, e.g. https://vault.example.com.", paramName);
        if (vaultUrl.Scheme == Uri.UriSchemeHttp && !vaultUrl.IsLoopback && !allowInsecureHttp)
        {
            throw new ArgumentException("VaultUrl must use https: OKAP tokens are bearer secrets (http is allowed to localhost, or with AllowInsecureHttp).", paramName);
        }
        return vaultUrl;
    }

    private static OkapClientOptions ConvenienceOptions(Uri vaultUrl, string appName)
    {
        ArgumentNullException.ThrowIfNull(vaultUrl);
        ArgumentException.ThrowIfNullOrWhiteSpace(appName);
        return new OkapClientOptions { VaultUrl = vaultUrl, AppName = appName };
    }

    private static bool IsAbsoluteHttp(Uri url) =>
        url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp);

    private static Uri BaseUrlOf(string? text, HttpStatusCode status) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && IsAbsoluteHttp(url)
            ? url
            : throw new OkapVaultException("The vault sent a token without a valid base_url.", status);

    /// <summary>Lenient on purpose: a token is handed over once, so an odd timestamp must not lose it.</summary>
    private static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ? at : null;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>The first http(s) link in a pending message ("… approve request req_… at https://vault/#/requests/req_…; …").</summary>
    private static Uri? ApproveLinkIn(string message)
    {
        var match = LinkPattern().Match(message);
        return match.Success && Uri.TryCreate(match.Value.TrimEnd('.', ',', ';', ':', ')', '\'', '"'), UriKind.Absolute, out var url) ? url : null;
    }

    private static string? RequestIdIn(Uri? approveUrl)
    {
        if (approveUrl is null) return null;
        var fragment = approveUrl.Fragment;
        var slash = fragment.LastIndexOf('/');
        return fragment.StartsWith("#/requests/", StringComparison.Ordinal) && slash < fragment.Length - 1 ? fragment[(slash + 1)..] : null;
    }

    [GeneratedRegex(@"https?://[^\s""'<>]+", RegexOptions.CultureInvariant)]
    private static partial Regex LinkPattern();
}
