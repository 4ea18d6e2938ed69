using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Admin;
using Okap.AspNetCore.Http;
using Okap.Core.Audit;
using Okap.Core.Metering;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.AspNetCore.Endpoints.Admin.AdminReplies;
using static Okap.Core.Accounts.AccessKeyScopes;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>The audit trail: paged, filtered by app and event, searched by substring, or exported as CSV.</summary>
public sealed class AuditEndpoints(AdminCall call, AuditLog audit, TimeProvider time)
{
    /// <summary>The most audit rows one export holds (the newest); the app and event filters narrow a longer history.</summary>
    internal const int MaxCsvRows = 100_000;

    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<AuditEndpoints>("GET", OkapPaths.Audit, OkapRouteNames.Audit, (e, c) => e.AuditAsync(c)).Returns<PageView<AuditView>>().Needs(Read),
    ];

    public Task<IResult> AuditAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
    {
        if (PageSize(context) is not { } size) return BadPageSize();
        if (Format(context) is not { } format) return Errors.Invalid("format", "format is json or csv");
        var q = context.Request.Query;
        var text = Empty(q["q"])?.Trim();
        if (text is { Length: > AuditQuery.MaxTextLength }) return Errors.Invalid("q", $"q is at most {AuditQuery.MaxTextLength} characters");
        var query = new AuditQuery(size, Empty(q["continuation"]), Empty(q["app"]), Empty(q["event"]), text is { Length: > 0 } ? text : null);
        if (format == "csv") return Csv(owner, query with { PageSize = 200 });
        var page = await audit.ListAsync(owner, query, ct);
        return TypedResults.Json(new PageView<AuditView>(page.Items.Select(AdminMapping.ToView).ToArray(), page.ContinuationToken), AdminJsonContext.Default.PageViewAuditView);
    });

    /// <summary>Every audit entry matching the filters, newest first, paged from the store while the file is written.</summary>
    private CsvResult Csv(string owner, AuditQuery query) => new($"okap-audit-{UsageKeys.Day(time.GetUtcNow())[2..]}.csv",
        // actor last: columns added later go at the end, so spreadsheets built on the old layout keep working.
        ["at", "event", "app_name", "client_address", "request_id", "token_id", "detail", "id", "actor"], async (csv, ct) =>
        {
            var written = 0;
            do
            {
                var page = await audit.ListAsync(owner, query, ct);
                foreach (var e in page.Items)
                {
                    csv.Row([CsvResult.Writer.Time(e.At), e.Event, e.AppName, e.ClientAddress, e.RequestId, e.TokenId, e.Detail, e.Id, e.Actor]);
                    if (++written == MaxCsvRows) return;
                }
                query = query with { ContinuationToken = page.ContinuationToken };
            }
            while (query.ContinuationToken is not null);
        });
}
