using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Okap.AspNetCore.Admin;
using Okap.Protocol.Admin;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Okap.Protocol;

namespace Okap.AspNetCore.Endpoints;

/// <summary>
/// The public OKAP routes: <c>POST /okap/request</c> (Python SDK shape), <c>POST /okap/authorize</c> (specification shape)
/// and its poll. Thin: parse, call <see cref="AccessRequestService"/>, map the result to the protocol's replies.
/// </summary>
public sealed class OkapProtocolHandlers(
    AccessRequestParser parser,
    AccessRequestService requests,
    OwnerResolver owners,
    PublicRateLimiter rateLimiter,
    TimeProvider time,
    IOptions<VaultOptions> vaultOptions,
    IOptions<OkapHttpOptions> httpOptions,
    VaultOrigins origins)
{
    private readonly VaultOptions _vault = vaultOptions.Value;
    private readonly VaultOrigins _origins = origins;
    private readonly int _maxBody = httpOptions.Value.MaxBodyBytes;

    /// <summary><c>POST /okap/request</c>: holds the call for a bounded wait, then replies with the token or <c>approved: false</c>.</summary>
    public async Task<IResult> RequestAsync(HttpContext context)
    {
        try
        {
            return await RequestCoreAsync(context);
        }
        catch (VaultUnavailableException)
        {
            // The published SDK shows only an approved:false reply's message; everyone else gets the 503.
            return ReadsOnlyApproved(context.Request)
                ? SdkRefusal(StorageUnavailableMessage, Protocol.OkapErrorTypes.VaultUnavailable)
                : StorageUnavailable();
        }
    }

    private async Task<IResult> RequestCoreAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var (owner, draft, error) = await AcceptAsync(context, OkapJsonContext.Default.OkapAccessRequest, parser.Parse);
        if (error is not null) return ReadsOnlyApproved(context.Request) && error is ErrorResult e ? SdkRefusal(e.Message, e.Type) : error;

        var created = await requests.CreateOrResumeAsync(owner!.Id, draft!, ClientAddress.Of(context), ct);
        var request = created.Request;
        if (request.Status == RequestStatus.Pending && _vault.DecisionWait > TimeSpan.Zero)
        {
            request = await requests.WaitForDecisionAsync(owner.Id, request.Id, _vault.DecisionWait, ct) ?? request;
        }
        return await SdkReplyAsync(request, ct);
    }

    /// <summary><c>POST /okap/authorize</c>: 200 granted/denied when decided at once (policy), else 202 pending with a secret poll URL.</summary>
    public async Task<IResult> AuthorizeAsync(HttpContext context)
    {
        try
        {
            return await AuthorizeCoreAsync(context);
        }
        catch (VaultUnavailableException)
        {
            return StorageUnavailable();
        }
    }

    private async Task<IResult> AuthorizeCoreAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var (owner, draft, error) = await AcceptAsync(context, OkapJsonContext.Default.OkapAuthorizeRequest, parser.Parse);
        if (error is not null) return error;

        var created = await requests.CreateAsync(owner!.Id, draft!, ClientAddress.Of(context), ct);
        return await SpecReplyAsync(created.Request, created.PollHandle, owners.VaultAddressFor(owner), ct);
    }

    /// <summary><c>GET /okap/authorize/{id}</c>: the requester polls with its secret handle (<c>Authorization: Bearer okap_poll_…</c> or <c>?handle=</c>), optionally waiting up to <c>?wait=</c> seconds.</summary>
    public async Task<IResult> PollAsync(HttpContext context, string id)
    {
        try
        {
            return await PollCoreAsync(context, id);
        }
        catch (VaultUnavailableException)
        {
            return StorageUnavailable();
        }
    }

    private async Task<IResult> PollCoreAsync(HttpContext context, string id)
    {
        var ct = context.RequestAborted;
        if (rateLimiter.TryAcquire(context) is { } limited) return limited;
        var owner = await owners.ResolveAsync(context.Request.Host.Host, ct);
        if (owner is null) return UnknownVault();
        var handle = PollHandleOf(context.Request);
        var request = await requests.FindForPollAsync(owner.Id, id, handle, ct);
        if (request is null) return Errors.NotFound("request");

        if (context.Request.Query.TryGetValue("wait", out var waitText) && waitText.Count == 1)
        {
            if (!int.TryParse(waitText[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                return Errors.Invalid("wait", "wait is a whole number of seconds");
            }
            var wait = TimeSpan.FromSeconds(Math.Min(seconds, (int)_vault.MaxPollWait.TotalSeconds));
            if (wait > TimeSpan.Zero && request.EffectiveStatus(time.GetUtcNow()) == RequestStatus.Pending)
            {
                request = await requests.WaitForDecisionAsync(owner.Id, id, wait, ct) ?? request;
            }
        }
        return await SpecReplyAsync(request, handle, owners.VaultAddressFor(owner), ct);
    }

    /// <summary>The shared front of both request routes: rate limit, bounded body, validation, whose vault.</summary>
    private async Task<(Owner? Owner, AccessRequestDraft? Draft, IResult? Error)> AcceptAsync<T>(HttpContext context,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, Func<T, (AccessRequestDraft?, FieldError?)> parse) where T : class
    {
        if (rateLimiter.TryAcquire(context) is { } limited) return (null, null, limited);
        var (body, error) = await BoundedJson.ReadAsync(context.Request, typeInfo, _maxBody, context.RequestAborted);
        if (error is not null) return (null, null, error);
        var (draft, invalid) = parse(body!);
        if (invalid is not null) return (null, null, Errors.Invalid(invalid));
        var owner = await owners.ResolveAsync(context.Request.Host.Host, context.RequestAborted);
        return owner is null ? (null, null, UnknownVault()) : (owner, draft, null);
    }

    /// <summary><c>GET /okap/health</c>.</summary>
    public IResult Health() => TypedResults.Json(new MessageView("ok"), AdminJsonContext.Default.MessageView);

    private async Task<IResult> SdkReplyAsync(AccessRequest request, CancellationToken ct)
    {
        var status = request.EffectiveStatus(time.GetUtcNow());
        switch (status)
        {
            case RequestStatus.Approved:
                var issued = await requests.ClaimTokenAsync(request, ct);
                if (issued is null) return SdkRefusal("The token for this request was already handed over.", OkapErrorCodes.AlreadyClaimed);
                var grant = issued.Record.Grants[0];
                return TypedResults.Json(new OkapAccessResponse
                {
                    Approved = true,
                    Token = new OkapTokenGrant
                    {
                        Token = issued.Token,
                        BaseUrl = BaseUrl(grant.Provider),
                        Provider = grant.Provider,
                        Models = [.. grant.Models],
                        // The SDK validates capabilities against its own enum; spec-only values are never granted on this route.
                        Capabilities = [.. grant.Capabilities.Where(OkapCatalog.SdkCapabilities.Contains)],
                        Limits = AdminMapping.ToWire(grant.Limits),
                        ExpiresAt = Iso(grant.ExpiresAt),
                        CreatedAt = Iso(issued.Record.CreatedAt),
                    },
                }, OkapJsonContext.Default.OkapAccessResponse);
            case RequestStatus.Denied:
                return SdkRefusal(request.DenyReason ?? "User declined authorization request", OkapErrorCodes.Denied);
            case RequestStatus.Expired:
                return SdkRefusal("The request expired before the vault owner decided.", OkapErrorCodes.Expired);
            default:
                return SdkRefusal($"Waiting for the vault owner to approve request {request.Id} at {ApproveUrl(request)}; send the request again once approved.",
                    OkapErrorCodes.Pending);
        }
    }

    // The poll goes to the owner's own vault address: in a multi-user vault that host names whose vault it is.
    private async Task<IResult> SpecReplyAsync(AccessRequest request, string? pollHandle, string vaultAddress, CancellationToken ct)
    {
        var status = request.EffectiveStatus(time.GetUtcNow());
        switch (status)
        {
            case RequestStatus.Approved:
                var issued = await requests.ClaimTokenAsync(request, ct);
                if (issued is null)
                {
                    return Errors.Status(StatusCodes.Status410Gone, OkapErrorCodes.AlreadyClaimed, "the token for this request was already handed over");
                }
                return TypedResults.Json(new OkapAuthorizeResponse
                {
                    Status = AuthorizeStatus.Granted,
                    Token = issued.Token,
                    RequestId = request.Id,
                    AuthorizationDetails = issued.Record.Grants.Select(g => new AuthorizationDetail
                    {
                        Type = AuthorizationDetail.AiModelAccess,
                        Provider = g.Provider,
                        Models = [.. g.Models],
                        Capabilities = [.. g.Capabilities],
                        Limits = AdminMapping.ToWire(g.Limits),
                        BaseUrl = BaseUrl(g.Provider),
                        Expires = Iso(g.ExpiresAt),
                    }).ToList(),
                }, OkapJsonContext.Default.OkapAuthorizeResponse);
            case RequestStatus.Denied:
                return TypedResults.Json(new OkapAuthorizeResponse { Status = AuthorizeStatus.Denied, Reason = request.DenyReason ?? "User declined authorization request", RequestId = request.Id },
                    OkapJsonContext.Default.OkapAuthorizeResponse);
            case RequestStatus.Expired:
                return TypedResults.Json(new OkapAuthorizeResponse { Status = AuthorizeStatus.Expired, Reason = "The request expired before the vault owner decided", RequestId = request.Id },
                    OkapJsonContext.Default.OkapAuthorizeResponse);
            default:
                return TypedResults.Json(new OkapAuthorizeResponse
                {
                    Status = AuthorizeStatus.Pending,
                    RequestId = request.Id,
                    PollUrl = pollHandle is null ? null : $"{vaultAddress}/okap/authorize/{request.Id}?handle={Uri.EscapeDataString(pollHandle)}",
                    ApproveUrl = ApproveUrl(request),
                    ExpiresAt = Iso(request.ExpiresAt),
                }, OkapJsonContext.Default.OkapAuthorizeResponse, statusCode: StatusCodes.Status202Accepted);
        }
    }

    /// <summary>
    /// The published Python SDK (0.1.1) turns every non-2xx answer into "Vault returned error: 400" without reading the
    /// body, and shows a message only from an <c>approved: false</c> reply. It sends no User-Agent of its own, so httpx's
    /// (<c>python-httpx/…</c>) names it: to it the refusals of this route are <c>approved: false</c> with the message and
    /// the error type as <c>error_code</c>. Every other client (the .NET SDK, curl, tests) keeps the HTTP status and the
    /// protocol's error body, as on <c>/okap/authorize</c>.
    /// </summary>
    internal static bool ReadsOnlyApproved(HttpRequest request) =>
        request.Headers.UserAgent.ToString().StartsWith("python-httpx/", StringComparison.OrdinalIgnoreCase);

    private static IResult SdkRefusal(string message, string code) =>
        TypedResults.Json(new OkapAccessResponse { Approved = false, Error = message, ErrorCode = code }, OkapJsonContext.Default.OkapAccessResponse);

    private const string StorageUnavailableMessage = "the vault cannot reach its storage right now; try again in a little while";

    // A store outage is the vault's trouble, not the app's: a 503 the app may retry, never a 500 with a stack behind it.
    private static IResult StorageUnavailable() =>
        Errors.Status(StatusCodes.Status503ServiceUnavailable, Protocol.OkapErrorTypes.VaultUnavailable, StorageUnavailableMessage);

    private static IResult UnknownVault() =>
        Errors.Status(StatusCodes.Status404NotFound, OkapErrorTypes.UnknownVault, "no vault at this address; use the vault URL shown on your vault's page");

    private static string? PollHandleOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.Ordinal)) return authorization["Bearer ".Length..].Trim();
        return request.Query.TryGetValue("handle", out var handle) && handle.Count == 1 ? handle[0] : null;
    }

    private string PublicRoot => _vault.PublicUrl.TrimEnd('/');

    private string BaseUrl(string provider) => $"{_origins.ProxyRoot}/v1/{provider}";

    private string ApproveUrl(AccessRequest request) => $"{PublicRoot}/#/requests/{request.Id}";

    private static string? Iso(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
