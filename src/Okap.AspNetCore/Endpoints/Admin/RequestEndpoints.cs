using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Admin;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.AspNetCore.Endpoints.Admin.AdminReplies;
using static Okap.Core.Accounts.AccessKeyScopes;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>Access requests: list and search them, read one, approve (as asked or narrowed) or deny.</summary>
public sealed class RequestEndpoints(AdminCall call, AccessRequestService requests, GrantBodies grantBodies, TimeProvider time)
{
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<RequestEndpoints>("GET", OkapPaths.Requests, OkapRouteNames.ListRequests, (e, c) => e.ListAsync(c)).Returns<PageView<RequestView>>().Needs(Read),
        OkapRoutes.On<RequestEndpoints>("GET", OkapPaths.RequestById, OkapRouteNames.GetRequest, (e, c) => e.GetAsync(c, OkapRoutes.Value(c, "id"))).Returns<RequestView>().Needs(Read),
        OkapRoutes.On<RequestEndpoints>("POST", OkapPaths.ApproveRequest, OkapRouteNames.ApproveRequest, (e, c) => e.ApproveAsync(c, OkapRoutes.Value(c, "id"))).Accepts<DecisionBody>(optional: true).Returns<RequestView>().Needs(Approve),
        OkapRoutes.On<RequestEndpoints>("POST", OkapPaths.DenyRequest, OkapRouteNames.DenyRequest, (e, c) => e.DenyAsync(c, OkapRoutes.Value(c, "id"))).Accepts<DecisionBody>(optional: true).Returns<RequestView>().Needs(Approve),
    ];

    /// <summary><c>GET /okap/admin/requests?status=&amp;q=&amp;page_size=&amp;continuation=</c>.</summary>
    public Task<IResult> ListAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
    {
        var query = context.Request.Query;
        RequestStatus? status = null;
        if (query.TryGetValue("status", out var s) && !string.IsNullOrEmpty(s))
        {
            if (!Enum.TryParse<RequestStatus>(s, ignoreCase: true, out var parsed)) return Errors.Invalid("status", "status is pending, approved, denied or expired");
            status = parsed;
        }
        if (PageSize(context) is not { } size) return BadPageSize();
        var text = Empty(query["q"])?.Trim();
        if (text is { Length: > RequestSearch.MaxTextLength }) return Errors.Invalid("q", $"q is at most {RequestSearch.MaxTextLength} characters");
        var stored = status == RequestStatus.Expired ? RequestStatus.Pending : status;
        var page = text is { Length: > 0 }
            ? await requests.SearchAsync(owner, stored, text, size, Empty(query["continuation"]), ct)
            : await requests.ListAsync(owner, stored, size, Empty(query["continuation"]), ct);
        var now = time.GetUtcNow();
        var items = page.Items.Select(r => AdminMapping.ToView(r, now));
        // Stored status "pending" splits into pending and expired by time.
        if (status is RequestStatus.Pending or RequestStatus.Expired) items = items.Where(v => v.Status == status.Value.ToString().ToLowerInvariant());
        return TypedResults.Json(new PageView<RequestView>(items.ToArray(), page.ContinuationToken), AdminJsonContext.Default.PageViewRequestView);
    });

    public Task<IResult> GetAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
        await requests.GetAsync(owner, id, ct) is { } r
            ? TypedResults.Json(AdminMapping.ToView(r, time.GetUtcNow()), AdminJsonContext.Default.RequestView)
            : Errors.NotFound("request"));

    /// <summary>Approves as asked (no body) or narrowed (<c>{"grants": [...]}</c>, never wider than asked).</summary>
    public Task<IResult> ApproveAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
    {
        IReadOnlyList<Grant>? grants = null;
        if (AdminCall.HasBody(context))
        {
            var (body, error) = await call.BodyAsync(context, AdminJsonContext.Default.DecisionBody, ct);
            if (error is not null) return error;
            if (body!.Grants is not null)
            {
                // Models or capabilities left out keep what was asked.
                var (parsed, invalid) = grantBodies.Parse(body.Grants, (await requests.GetAsync(owner, id, ct))?.Requested ?? []);
                if (invalid is not null) return Errors.Invalid(invalid);
                grants = parsed;
            }
        }
        return Map(await requests.DecideAsync(owner, id, new Decision(true, grants), ct), r => AdminMapping.ToView(r, time.GetUtcNow()), AdminJsonContext.Default.RequestView, "request");
    });

    public Task<IResult> DenyAsync(HttpContext context, string id) => call.AsOwner(context, async (owner, ct) =>
    {
        string? reason = null;
        if (AdminCall.HasBody(context))
        {
            var (body, error) = await call.BodyAsync(context, AdminJsonContext.Default.DecisionBody, ct);
            if (error is not null) return error;
            if (body!.Reason is { Length: > AccessRequestParser.MaxTextLength }) return Errors.Invalid("reason", "at most 1000 characters");
            reason = body.Reason;
        }
        return Map(await requests.DecideAsync(owner, id, new Decision(false, DenyReason: reason), ct), r => AdminMapping.ToView(r, time.GetUtcNow()), AdminJsonContext.Default.RequestView, "request");
    });
}
