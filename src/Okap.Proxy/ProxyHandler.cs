using System.Buffers;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Okap.Core;
using Okap.Core.Metering;
using Okap.Core.Pricing;
using Okap.Core.Providers;
using Okap.Core.Tokens;
using Okap.Protocol;
using Yarp.ReverseProxy.Forwarder;

namespace Okap.Proxy;

/// <summary>
/// Handles one proxied call, <c>/v1/{provider}/{**path}</c>: checks the OKAP token and its grant, reserves spend,
/// forwards to the provider with the master key, meters usage from the response as it streams, and settles.
/// Hosts call <see cref="HandleAsync"/> directly (the ASP.NET Core endpoint from <c>MapOkapProxy</c>, or an Azure
/// Functions trigger).
/// </summary>
public sealed class ProxyHandler
{
    /// <summary>Error type for unexpected failures inside the vault (not in the protocol's list).</summary>
    public const string InternalError = "internal_error";

    // Rounds of "renew the lease, then reserve" one call may take when concurrent calls keep taking what was renewed.
    private const int MaxLeaseRounds = 50;

    private readonly IHttpForwarder _forwarder;
    private readonly UpstreamClient _client;
    private readonly TokenCache _tokens;
    private readonly UpstreamResolver _upstreams;
    private readonly BudgetLedger _ledger;
    private readonly IUsageStore _usage;
    private readonly PriceCatalog _catalog;
    private readonly IUpstreamTokenSource _managedIdentity;
    private readonly ProxyAuditQueue _audit;
    private readonly TimeProvider _time;
    private readonly OkapProxyOptions _options;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly ILogger<ProxyHandler> _logger;

    internal ProxyHandler(IHttpForwarder forwarder, UpstreamClient client, TokenCache tokens, UpstreamResolver upstreams, BudgetLedger ledger,
        IUsageStore usage, PriceCatalog catalog, IUpstreamTokenSource managedIdentity, ProxyAuditQueue audit, TimeProvider time,
        IOptions<OkapProxyOptions> options, ILogger<ProxyHandler> logger)
    {
        _forwarder = forwarder;
        _client = client;
        _tokens = tokens;
        _upstreams = upstreams;
        _ledger = ledger;
        _usage = usage;
        _catalog = catalog;
        _managedIdentity = managedIdentity;
        _audit = audit;
        _time = time;
        _options = options.Value;
        _logger = logger;
        _requestConfig = new ForwarderRequestConfig { ActivityTimeout = _options.UpstreamTimeout, AllowResponseBuffering = false };
    }

    /// <summary>Proxies <paramref name="context"/>'s request to <paramref name="provider"/>; <paramref name="path"/> is the part after <c>/v1/{provider}/</c>.</summary>
    public async Task HandleAsync(HttpContext context, string provider, string? path)
    {
        var telemetry = ProxyTelemetry.Start(context);
        try
        {
            await HandleCoreAsync(context, provider, path ?? string.Empty).ConfigureAwait(false);
        }
        catch (VaultUnavailableException ex)
        {
            Log.StoreUnavailable(_logger, provider, ex.Message);
            await ProxyErrors.WriteAsync(context, 503, OkapErrorTypes.VaultUnavailable, "The vault cannot reach its storage right now; try again shortly.", provider).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (Exception ex) when (ex is not BadHttpRequestException && ex is not OperationCanceledException)
        {
            Log.Unexpected(_logger, provider, ex.GetType().Name, ex);
            await ProxyErrors.WriteAsync(context, 500, InternalError, "The vault failed to handle this call.", provider).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await ProxyErrors.WriteAsync(context, ex.StatusCode == 413 ? 413 : 400, ex.StatusCode == 413 ? OkapErrorTypes.PayloadTooLarge : OkapErrorTypes.InvalidRequest,
                "The request body could not be read.", provider).ConfigureAwait(false);
        }
        finally
        {
            if (telemetry is not null) ProxyTelemetry.Complete(telemetry, context);
        }
    }

    private async Task HandleCoreAsync(HttpContext context, string provider, string path)
    {
        var request = context.Request;
        if (!OriginCheck.ServesProxy(context))
        {
            await ProxyErrors.WriteAsync(context, 404, OkapErrorTypes.NotFound, OriginCheck.WrongOriginMessage, provider).ConfigureAwait(false);
            return;
        }
        if (!ProviderCatalog.IsValidId(provider) || !IsSafePath(path))
        {
            await ProxyErrors.WriteAsync(context, 404, OkapErrorTypes.NotFound, "Unknown provider or path.", provider).ConfigureAwait(false);
            return;
        }

        // 1. Token, wherever the provider's SDKs send a key.
        var presented = ExtractToken(request);
        if (presented is null || !presented.StartsWith(Secrets.TokenPrefix, StringComparison.Ordinal))
        {
            await ProxyErrors.WriteAsync(context, 401, OkapErrorTypes.TokenInvalid,
                presented is null ? "No OKAP token was sent. Use the okap_… token as the API key." : "This is not a valid OKAP token.", provider).ConfigureAwait(false);
            return;
        }
        var token = await _tokens.FindAsync(Secrets.Hash(presented)).ConfigureAwait(false);
        if (token is null)
        {
            await ProxyErrors.WriteAsync(context, 401, OkapErrorTypes.TokenInvalid, "This OKAP token is not known to this vault.", provider).ConfigureAwait(false);
            return;
        }
        var now = _time.GetUtcNow();
        if (token.RevokedAt is not null)
        {
            await ProxyErrors.WriteAsync(context, 401, OkapErrorTypes.TokenRevoked, "This OKAP token has been revoked", provider).ConfigureAwait(false);
            return;
        }
        var grant = token.GrantFor(provider);
        if (token.ExpiresAt <= now || grant?.ExpiresAt <= now)
        {
            await ProxyErrors.WriteAsync(context, 401, OkapErrorTypes.TokenExpired, "This OKAP token has expired", provider).ConfigureAwait(false);
            return;
        }
        if (grant is null)
        {
            await RefuseAsync(context, token, provider, 403, OkapErrorTypes.ProviderNotAllowed, $"This OKAP token does not grant access to provider '{provider}'.").ConfigureAwait(false);
            return;
        }

        // 2. What the route does.
        var descriptor = ProviderCatalog.Resolve(provider);
        var route = RouteClassifier.Classify(descriptor.Format, request.Method, path);
        ProxyTelemetry.Describe(context, provider, route.Kind, route.PathModel);
        var limits = grant.Limits;
        // Batches, files and uploads run work the vault cannot see per call: a token with any model, capability or limit
        // restriction (tokens_per_request and rate limits included, since one batch is one call) may not use them.
        if (route.Kind == RouteKind.Other && (grant.Capabilities.Count > 0 || grant.Models.Count > 0 || limits.HasAnyLimit))
        {
            await RefuseAsync(context, token, provider, 403, OkapErrorTypes.CapabilityNotAllowed,
                grant.Capabilities.Count > 0 || grant.Models.Count > 0
                    ? $"This OKAP token may not call '{request.Method} {path}': only routes of its granted capabilities ({string.Join(", ", grant.Capabilities.DefaultIfEmpty("chat"))}) are allowed."
                    : $"This OKAP token may not call '{request.Method} {path}': it has limits, and the vault meters only model calls (batches, files and uploads would escape them).").ConfigureAwait(false);
            return;
        }
        if (route.IsMetered && !grant.AllowsCapability(route.Capability))
        {
            await RefuseAsync(context, token, provider, 403, OkapErrorTypes.CapabilityNotAllowed,
                $"This OKAP token does not grant the '{route.Capability}' capability.").ConfigureAwait(false);
            return;
        }

        // 3. Body: read (bounded) when the model and limits must be checked.
        byte[]? body = null;
        var bodyLength = 0;
        RequestFacts facts = new() { IsJsonObject = false };
        var restrictive = grant.Models.Count > 0 || limits.HasSpendCap || limits.TokensPerRequest is not null;
        try
        {
            if (route.IsMetered && HasBody(request))
            {
                if (IsJson(request.ContentType))
                {
                    if (request.ContentLength > _options.MaxBufferedBodyBytes)
                    {
                        await PayloadTooLargeAsync(context, provider).ConfigureAwait(false);
                        return;
                    }
                    (body, bodyLength) = await ReadBodyAsync(request, _options.MaxBufferedBodyBytes, context.RequestAborted).ConfigureAwait(false);
                    if (body is null)
                    {
                        await PayloadTooLargeAsync(context, provider).ConfigureAwait(false);
                        return;
                    }
                    facts = RequestInspector.Inspect(body.AsSpan(0, bodyLength));
                    if (!facts.IsJsonObject)
                    {
                        await ProxyErrors.WriteAsync(context, 400, OkapErrorTypes.InvalidRequest, "The request body is not a JSON object.", provider).ConfigureAwait(false);
                        return;
                    }
                    if (facts.Problem is not null)
                    {
                        await ProxyErrors.WriteAsync(context, 400, OkapErrorTypes.InvalidRequest, "The vault cannot check this request: " + facts.Problem, provider).ConfigureAwait(false);
                        return;
                    }
                }
                else if (restrictive)
                {
                    await RefuseAsync(context, token, provider, 400, OkapErrorTypes.InvalidRequest,
                        "This OKAP token has model or spend limits, which the vault can only check on JSON requests.").ConfigureAwait(false);
                    return;
                }
            }
            await ForwardCheckedAsync(context, token, grant, descriptor, route, path, body, bodyLength, facts).ConfigureAwait(false);
        }
        finally
        {
            if (body is not null) ArrayPool<byte>.Shared.Return(body);
        }
    }

    private async Task ForwardCheckedAsync(HttpContext context, TokenRecord token, Grant grant, ProviderDescriptor descriptor, RouteInfo route, string path,
        byte[]? body, int bodyLength, RequestFacts facts)
    {
        var provider = descriptor.Id;
        var limits = grant.Limits;
        var model = route.PathModel ?? facts.Model;
        if (facts.Model is not null) ProxyTelemetry.Describe(context, provider, route.Kind, model);

        // 4. Model allow-list.
        if (route.IsMetered && grant.Models.Count > 0 && !(grant.AllowsModel(model) || (model is not null && grant.AllowsModel("models/" + model))))
        {
            await RefuseAsync(context, token, provider, 403, OkapErrorTypes.ModelNotAllowed,
                model is null ? "This OKAP token is limited to certain models and the request names none." : $"This OKAP token does not grant model '{model}'.").ConfigureAwait(false);
            return;
        }

        // 5. Output ceiling against tokens_per_request.
        var maxOutField = RequestInspector.MaxOutputField(route.Kind, provider);
        long? capOutput = null;
        if (route.IsMetered && limits.TokensPerRequest is { } tpr && maxOutField is not null)
        {
            if (facts.MaxOutputTokens > tpr)
            {
                if (_options.TokensPerRequestAction == TokensPerRequestAction.Refuse)
                {
                    await RefuseAsync(context, token, provider, 400, OkapErrorTypes.TokensPerRequest,
                        $"The request asks for {facts.MaxOutputTokens} output tokens; this OKAP token allows at most {tpr} per request.").ConfigureAwait(false);
                    return;
                }
                capOutput = tpr;
            }
            else if (facts.MaxOutputTokens is null && body is not null)
            {
                capOutput = tpr;
            }
        }

        // 6. Stream usage: ask OpenAI-format providers for it when the client did not.
        var streams = facts.Stream || route.PathStreams;
        var injectUsage = streams && body is not null && route.Format == ApiFormat.OpenAI && facts.IncludeUsage != true
                          && route.Kind is RouteKind.ChatCompletions or RouteKind.Completions && provider != "mistral";

        // 7. Price (required under a spend cap).
        ModelPrice? price = null;
        if (route.IsMetered)
        {
            IReadOnlyList<PriceOverride> overrides;
            try
            {
                overrides = await _upstreams.PriceOverridesAsync(token.OwnerId).ConfigureAwait(false);
            }
            catch (VaultUnavailableException) when (!limits.HasSpendCap)
            {
                overrides = [];
            }
            price = _catalog.Find(provider, model, overrides);
            if (price is null && limits.HasSpendCap)
            {
                await RefuseAsync(context, token, provider, 403, OkapErrorTypes.UnpricedModel,
                    model is null
                        ? "This OKAP token has a spend limit and the request names no model, so its cost cannot be known."
                        : $"This OKAP token has a spend limit and the vault has no price for model '{model}', so the call is refused. The vault owner can add a price for it.").ConfigureAwait(false);
                return;
            }
        }

        // 8. Upstream and key (cached).
        var resolution = await _upstreams.ResolveAsync(token.OwnerId, descriptor).ConfigureAwait(false);
        if (resolution.Target is not { } target)
        {
            await RefuseAsync(context, token, provider, resolution.Status, resolution.ErrorType!, resolution.Message!).ConfigureAwait(false);
            return;
        }

        // 9. Rate limits and spend reservation (unmetered "other" routes still count against the rate limits).
        Reservation? reservation = null;
        if (route.IsMetered || route.Kind == RouteKind.Other)
        {
            long worst = 0;
            if (limits.HasSpendCap && price is not null)
            {
                long outBound = route.Kind is RouteKind.Embeddings or RouteKind.GeminiEmbed or RouteKind.CohereEmbed or RouteKind.OllamaEmbed or RouteKind.Moderation
                    ? 0
                    : capOutput ?? facts.MaxOutputTokens ?? limits.TokensPerRequest ?? price.MaxOutputTokens ?? _options.DefaultMaxOutputTokens;
                // Every input token is at least one byte: the body length bounds the input.
                // Each requested output (n, candidateCount) may use the whole ceiling.
                var outputs = (Int128)outBound * Math.Clamp(facts.Choices, 1, 128);
                worst = price.CostMicros(new TokenUsage(Math.Max(bodyLength, 1), 0, outputs > long.MaxValue ? long.MaxValue : (long)outputs));
            }
            // "Not loaded" means the lease was renewed but concurrent calls took it first: renew again (each round is a
            // store round trip, so this is paced by the store) until the store grants or refuses, within the store timeout.
            var started = _time.GetTimestamp();
            for (var attempt = 0; ; attempt++)
            {
                await EnsureLedgerReadyAsync(token, provider, limits, worst).ConfigureAwait(false);
                var result = _ledger.TryReserve(token.OwnerId, token.Id, provider, limits, worst);
                if (result.Ok)
                {
                    reservation = result.Reservation;
                    break;
                }
                if (result.Refused == LimitKind.NotLoaded && attempt < MaxLeaseRounds && _time.GetElapsedTime(started) < _options.StoreTimeout) continue;
                await RefuseLimitAsync(context, token, provider, route.Format, result, limits).ConfigureAwait(false);
                return;
            }
        }

        // 10. Forward.
        var settled = false;
        try
        {
            if (body is not null)
            {
                var send = body.AsMemory(0, bodyLength);
                if (capOutput is not null || injectUsage)
                    send = RequestInspector.Rewrite(send.Span, capOutput, maxOutField, injectUsage);
                context.Request.Body = new ReadOnlyMemoryStream(send);
                context.Request.ContentLength = send.Length;
                context.Request.Headers.Remove("Transfer-Encoding");
            }

            var call = new ProxyCall
            {
                UpstreamUri = BuildUpstreamUri(target.BaseUrl, path, context.Request.QueryString, context.Request.Query),
                Target = target,
                Format = route.Format,
                Provider = provider,
                DropUsageChunks = injectUsage,
                Metered = route.IsMetered,
            };
            if (target.ManagedIdentity)
            {
                try
                {
                    call.BearerOverride = "Bearer " + await _managedIdentity.GetTokenAsync(target.ManagedIdentityClientId, context.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.UpstreamFailed(_logger, provider, "managed identity token", ex.GetType().Name);
                    await ProxyErrors.WriteAsync(context, 502, OkapErrorTypes.UpstreamUnavailable, "The vault could not get a managed identity token for the provider.", provider).ConfigureAwait(false);
                    return;
                }
            }
            context.Features.Set(call);

            var originalBody = context.Response.Body;
            MeteringResponseStream? meter = null;
            if (route.IsMetered)
            {
                meter = new MeteringResponseStream(originalBody, route.Format);
                call.Meter = meter;
                context.Response.Body = meter;
            }

            ForwarderError error;
            try
            {
                ProxyTelemetry.UpstreamStarted(context);
                error = await _forwarder.SendAsync(context, target.BaseUrl, target.OwnerDefined ? _client.OwnerInvoker : _client.Invoker, _requestConfig, ProxyTransformer.Instance).ConfigureAwait(false);
                if (meter is not null) await meter.CompleteAsync(forwardHeld: error == ForwarderError.None, context.RequestAborted).ConfigureAwait(false);
                ProxyTelemetry.UpstreamEnded(context);
            }
            finally
            {
                context.Response.Body = originalBody;
            }

            // 11. Settle from what the response said (or what the stream showed), release the rest.
            if (reservation is not null)
            {
                var status = context.Response.StatusCode;
                var produced = meter is not null && meter.Started && status is >= 200 and < 300;
                if (produced)
                {
                    var usage = meter!.Scanner!.GetUsageOrEstimate(bodyLength, completed: error == ForwarderError.None);
                    var cost = price?.CostMicros(usage) ?? 0;
                    _ledger.Settle(reservation, usage, cost);
                    ProxyTelemetry.Settled(context, usage, cost, priced: price is not null);
                }
                else
                {
                    _ledger.Release(reservation);
                }
                settled = true;
            }
            meter?.Release();

            if (error != ForwarderError.None)
            {
                var feature = context.GetForwarderErrorFeature();
                Log.UpstreamFailed(_logger, provider, error.ToString(), feature?.Exception?.GetType().Name);
                if (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
                {
                    if (error == ForwarderError.RequestTimedOut)
                        await ProxyErrors.WriteAsync(context, 504, OkapErrorTypes.UpstreamTimeout, $"The provider '{provider}' did not answer in time.", provider).ConfigureAwait(false);
                    else if (error is ForwarderError.Request or ForwarderError.RequestCreation or ForwarderError.RequestBodyDestination or ForwarderError.NoAvailableDestinations)
                        await ProxyErrors.WriteAsync(context, 502, OkapErrorTypes.UpstreamUnavailable, $"The provider '{provider}' could not be reached.", provider).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (reservation is not null && !settled) _ledger.Release(reservation);
        }
    }

    private async ValueTask EnsureLedgerReadyAsync(TokenRecord token, string provider, Limits limits, long worst)
    {
        var load = _ledger.EnsureReadyAsync(token.OwnerId, token.Id, provider, limits, worst, _usage, CancellationToken.None);
        if (load.IsCompletedSuccessfully) return;
        var started = Stopwatch.GetTimestamp();
        try
        {
            await load.AsTask().WaitAsync(_options.StoreTimeout).ConfigureAwait(false);
            ProxyTelemetry.StoreCall("usage.load", started, null);
        }
        catch (Exception ex) when (ProxyTelemetry.StoreFailed("usage.load", started, ex))
        {
            throw;
        }
        catch (Exception ex) when (ex is not VaultUnavailableException)
        {
            throw new VaultUnavailableException("Usage store failed.", ex);
        }
    }

    private Task RefuseLimitAsync(HttpContext context, TokenRecord token, string provider, ApiFormat format, ReserveResult result, Limits limits)
    {
        switch (result.Refused)
        {
            case LimitKind.RequestsPerMinute:
            case LimitKind.RequestsPerDay:
                var wait = result.RetryAfter ?? TimeSpan.Zero;
                var per = result.Refused == LimitKind.RequestsPerMinute ? $"{limits.RequestsPerMinute} requests per minute" : $"{limits.RequestsPerDay} requests per day (UTC)";
                // A short wait is announced for the SDK to retry after; a long one only in the message, with
                // x-should-retry: false, so no SDK sleeps through it inside the app's call.
                var retryable = wait > TimeSpan.Zero && wait <= _options.MaxRetryAfter;
                return RefuseAsync(context, token, provider, 429, OkapErrorTypes.RateLimited,
                    $"Rate limit reached: this OKAP token allows {per}; try again in {Refusals.Duration(wait)}.", retryable ? wait : null);
            case LimitKind.DailySpend:
            case LimitKind.MonthlySpend:
                var (cap, period) = result.Refused == LimitKind.DailySpend ? (limits.DailySpendMicros, "day") : (limits.MonthlySpendMicros, "month");
                return RefuseAsync(context, token, provider, Refusals.SpendStatus(format), OkapErrorTypes.SpendLimit,
                    $"{(period == "day" ? "Daily" : "Monthly")} spend limit reached: this OKAP token may spend {Usd(cap)} per {period} (UTC) and this call could exceed it.");
            default:
                return ProxyErrors.WriteAsync(context, 503, OkapErrorTypes.VaultUnavailable, "The vault cannot reach its storage right now; try again shortly.", provider);
        }
    }

    private static string Usd(long? micros) => micros is { } m ? "$" + (m / 1_000_000m).ToString("0.00####", System.Globalization.CultureInfo.InvariantCulture) : "?";

    private Task RefuseAsync(HttpContext context, TokenRecord token, string provider, int status, string type, string message, TimeSpan? retryAfter = null)
    {
        Log.Refused(_logger, token.Id, provider, type);
        _audit.Refused(token, provider, type, context.Connection.RemoteIpAddress);
        return ProxyErrors.WriteAsync(context, status, type, message, provider, retryAfter);
    }

    private static Task PayloadTooLargeAsync(HttpContext context, string provider) =>
        ProxyErrors.WriteAsync(context, 413, OkapErrorTypes.PayloadTooLarge, "The request body is larger than the vault reads to check its limits.", provider);

    /// <summary>The OKAP token from <c>Authorization: Bearer</c>, <c>x-api-key</c>, <c>x-goog-api-key</c>, <c>api-key</c> or <c>?key=</c>.</summary>
    internal static string? ExtractToken(HttpRequest request)
    {
        var headers = request.Headers;
        var auth = headers.Authorization;
        if (auth.Count > 0)
        {
            var value = auth[0];
            if (value is not null && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return value[7..].Trim();
        }
        if (First(headers, "x-api-key") is { } x) return x;
        if (First(headers, "x-goog-api-key") is { } g) return g;
        if (First(headers, "api-key") is { } a) return a;
        if (request.QueryString.HasValue && request.Query.TryGetValue("key", out var k) && k.Count > 0) return k[0];
        return null;
    }

    private static string? First(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var v) && v.Count > 0 && !string.IsNullOrEmpty(v[0]) ? v[0]!.Trim() : null;

    internal static bool IsSafePath(string path)
    {
        // An empty segment anywhere ("//", a leading "/" left by "/v1/openai//x") or an encoded slash is another
        // spelling of a path the route checks would read differently from the upstream.
        if (path.Contains('\\') || path.Contains("//", StringComparison.Ordinal) || path.StartsWith('/')
            || path.Contains("%2F", StringComparison.OrdinalIgnoreCase)) return false;
        foreach (var segment in path.AsSpan().Split('/'))
        {
            var s = path.AsSpan(segment);
            if (s is "." or "..") return false;
            foreach (var c in s) if (char.IsControl(c)) return false;
        }
        return true;
    }

    // HTTP/2 and HTTP/3 bodies need neither Content-Length nor Transfer-Encoding: ask the server whether one can follow.
    private static bool HasBody(HttpRequest request) =>
        request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { } detection
            ? detection.CanHaveBody
            : request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0);

    private static bool IsJson(string? contentType) =>
        contentType is null || contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) || contentType.Contains("+json", StringComparison.OrdinalIgnoreCase);

    private static async Task<(byte[]? Buffer, int Length)> ReadBodyAsync(HttpRequest request, long max, CancellationToken ct)
    {
        var initial = (int)Math.Min(max + 1, request.ContentLength is { } len ? len + 1 : 16 * 1024);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 512));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max) break;
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    Buffer.BlockCopy(buffer, 0, bigger, 0, length);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (read == 0) break;
                length += read;
                if (length > max) break;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        if (length > max)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, 0);
        }
        return (buffer, length);
    }

    private static Uri BuildUpstreamUri(string baseUrl, string path, QueryString query, IQueryCollection parsed)
    {
        if (query.HasValue && parsed.ContainsKey("key"))
        {
            // Query names are matched without regard to case when the token is read, so they are removed the same way.
            query = QueryString.Create(parsed.Where(kv => !string.Equals(kv.Key, "key", StringComparison.OrdinalIgnoreCase))
                .SelectMany(kv => kv.Value.Select(v => new KeyValuePair<string, string?>(kv.Key, v))));
        }
        var address = RequestUtilities.MakeDestinationAddress(baseUrl, path.Length == 0 ? PathString.Empty : new PathString("/" + path), query);
        return address;
    }
}

/// <summary>A read-only stream over a buffer, for the rewritten or re-played request body.</summary>
internal sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> data) : Stream
{
    private int _position;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, data.Length - _position);
        data.Span.Slice(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => data.Length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
