using Microsoft.AspNetCore.Http;
using Okap.AspNetCore.Http;
using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.AspNetCore.Endpoints.Admin.AdminReplies;
using static Okap.Core.Accounts.AccessKeyScopes;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>The owner's daily usage counters, as JSON or a CSV file.</summary>
public sealed class UsageEndpoints(AdminCall call, IUsageStore usage, TokenService tokens, TimeProvider time)
{
    internal static OkapRoutes.Route[] Routes =>
    [
        OkapRoutes.On<UsageEndpoints>("GET", OkapPaths.Usage, OkapRouteNames.Usage, (e, c) => e.UsageAsync(c)).Returns<UsageView>().Needs(Read),
    ];

    /// <summary><c>GET /okap/admin/usage?days=30&amp;format=json|csv</c>: daily counters of every token of the owner.</summary>
    public Task<IResult> UsageAsync(HttpContext context) => call.AsOwner(context, async (owner, ct) =>
    {
        var days = 30;
        if (context.Request.Query.TryGetValue("days", out var d) && (!int.TryParse(d, out days) || days is < 1 or > 400))
        {
            return Errors.Invalid("days", "days is 1 to 400");
        }
        if (Format(context) is not { } format) return Errors.Invalid("format", "format is json or csv");
        var from = UsageKeys.Day(time.GetUtcNow().AddDays(-(days - 1)));
        var rows = (await usage.ListAsync(owner, from, ct)).Select(ToRow).ToArray();
        if (format == "json") return TypedResults.Json(new UsageView(rows), AdminJsonContext.Default.UsageView);

        var apps = new Dictionary<string, string>(StringComparer.Ordinal);
        string? continuation = null;
        do
        {
            var page = await tokens.ListAsync(owner, 200, continuation, ct);
            foreach (var t in page.Items) apps[t.Id] = t.AppName;
            continuation = page.ContinuationToken;
        }
        while (continuation is not null);
        return new CsvResult($"okap-usage-{UsageKeys.Day(time.GetUtcNow())[2..]}.csv",
            ["day", "token_id", "app_name", "provider", "requests", "input_tokens", "output_tokens", "cost_usd"], (csv, _) =>
            {
                foreach (var r in rows.OrderBy(r => r.Period, StringComparer.Ordinal).ThenBy(r => r.TokenId, StringComparer.Ordinal))
                {
                    csv.Row([r.Period, r.TokenId, apps.GetValueOrDefault(r.TokenId), r.Provider, CsvResult.Writer.Number(r.Requests),
                        CsvResult.Writer.Number(r.InputTokens), CsvResult.Writer.Number(r.OutputTokens), CsvResult.Writer.Number(r.CostUsd)]);
                }
                return Task.CompletedTask;
            });
    });

    private static UsageRowView ToRow(UsageCounter c)
    {
        var split = c.GrantKey.LastIndexOf(':');
        return new UsageRowView(split < 0 ? c.GrantKey : c.GrantKey[..split], split < 0 ? "" : c.GrantKey[(split + 1)..], c.Period[2..],
            c.Requests, c.InputTokens, c.OutputTokens, c.CostMicros / 1_000_000m);
    }
}
