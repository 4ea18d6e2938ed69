using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Okap.AspNetCore.Admin;
using Okap.Protocol.Admin;
using Okap.AspNetCore.Auth;
using Okap.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Policies;
using Okap.Core.Pricing;
using Okap.Core.Requests;
using Okap.Core.Tokens;

namespace Okap.AspNetCore.Endpoints;

/// <summary>
/// The owner's JSON API under <c>/okap/admin</c>. Every handler first resolves the signed-in owner and passes that
/// owner id to the core, so no route can reach another owner's data (the stores are scoped by owner too).
/// </summary>
public sealed class AdminHandlers(
    OwnerAccess access,
    AccessRequestService requests,
    AccessRequestParser parser,
    TokenService tokens,
    MasterKeyService keys,
    PolicyService policies,
    AccessKeyService accessKeys,
    PriceOverrideService prices,
    PriceCatalog catalog,
    AuditLog audit,
    IUsageStore usage,
    BudgetService budgets,
    TimeProvider time,
    IOptions<OkapHttpOptions> httpOptions,
    IOptions<OkapAdminOptions> adminOptions)
{
    private readonly int _maxBody = httpOptions.Value.MaxBodyBytes;

    public Task<IResult> ListRequestsAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
    {
        var query = context.Request.Query;
        RequestStatus? status = null;
        if (query.TryGetValue("status", out var s) && !string.IsNullOrEmpty(s))
        {
            if (!Enum.TryParse<RequestStatus>(s, ignoreCase: true, out var parsed)) return Errors.Invalid("status", "status is pending, approved, denied or expired");
            status = parsed;
        }
        if (PageSize(context) is not { } size) return Errors.Invalid("page_size", "page_size is 1 to 200");
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

    public Task<IResult> GetRequestAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
        await requests.GetAsync(owner, id, ct) is { } r
            ? TypedResults.Json(AdminMapping.ToView(r, time.GetUtcNow()), AdminJsonContext.Default.RequestView)
            : Errors.NotFound("request"));

    public Task<IResult> ApproveAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
    {
        IReadOnlyList<Grant>? grants = null;
        if (context.Request.ContentLength is > 0 || context.Request.ContentType is not null)
        {
            var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.DecisionBody, _maxBody, ct);
            if (error is not null) return error;
            if (body!.Grants is not null)
            {
                // Models or capabilities left out keep what was asked.
                var (parsed, invalid) = ParseGrants(body.Grants, (await requests.GetAsync(owner, id, ct))?.Requested ?? []);
                if (invalid is not null) return Errors.Invalid(invalid);
                grants = parsed;
            }
        }
        return Map(await requests.DecideAsync(owner, id, new Decision(true, grants), ct), r => AdminMapping.ToView(r, time.GetUtcNow()), AdminJsonContext.Default.RequestView, "request");
    });

    public Task<IResult> DenyAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
    {
        string? reason = null;
        if (context.Request.ContentLength is > 0 || context.Request.ContentType is not null)
        {
            var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.DecisionBody, _maxBody, ct);
            if (error is not null) return error;
            if (body!.Reason is { Length: > AccessRequestParser.MaxTextLength }) return Errors.Invalid("reason", "at most 1000 characters");
            reason = body.Reason;
        }
        return Map(await requests.DecideAsync(owner, id, new Decision(false, DenyReason: reason), ct), r => AdminMapping.ToView(r, time.GetUtcNow()), AdminJsonContext.Default.RequestView, "request");
    });

    public Task<IResult> ListTokensAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
    {
        if (PageSize(context) is not { } size) return Errors.Invalid("page_size", "page_size is 1 to 200");
        var page = await tokens.ListAsync(owner, size, Empty(context.Request.Query["continuation"]), ct);
        var now = time.GetUtcNow();
        return TypedResults.Json(new PageView<TokenView>(page.Items.Select(t => AdminMapping.ToView(t, now)).ToArray(), page.ContinuationToken),
            AdminJsonContext.Default.PageViewTokenView);
    });

    public Task<IResult> GetTokenAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
        await tokens.GetAsync(owner, id, ct) is { } t
            ? TypedResults.Json(AdminMapping.ToView(t, time.GetUtcNow()), AdminJsonContext.Default.TokenView)
            : Errors.NotFound("token"));

    /// <summary><c>PATCH /okap/admin/tokens/{id}</c> with <c>{"grants": [...]}</c>: narrows the token (see <see cref="TokenService.NarrowAsync"/>).</summary>
    public Task<IResult> NarrowTokenAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.DecisionBody, _maxBody, ct);
        if (error is not null) return error;
        if (body!.Grants is null) return Errors.Invalid("grants", "grants is required: the token's grants as they should be");
        var current = await tokens.GetAsync(owner, id, ct);
        if (current is null) return Errors.NotFound("token");
        // Models or capabilities left out keep what the token holds.
        var (parsed, invalid) = ParseGrants(body.Grants, current.Grants);
        if (invalid is not null) return Errors.Invalid(invalid);
        return Map(await tokens.NarrowAsync(owner, id, parsed!, ClientAddress.Of(context), ct), t => AdminMapping.ToView(t, time.GetUtcNow()),
            AdminJsonContext.Default.TokenView, "token");
    });

    /// <summary>
    /// Revokes a token. A revocation the store cannot take (or confirm) is answered 503 and says so: the token keeps
    /// working until a revocation is written, and the owner must know that.
    /// </summary>
    public Task<IResult> RevokeTokenAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
    {
        TokenRecord? revoked;
        try
        {
            revoked = await tokens.RevokeAsync(owner, id, ClientAddress.Of(context), ct);
        }
        catch (VaultUnavailableException)
        {
            return Errors.Status(StatusCodes.Status503ServiceUnavailable, Protocol.OkapErrorTypes.VaultUnavailable,
                "The token was NOT revoked, or the vault cannot confirm it was: the vault cannot reach its storage right now, so the revocation could not be saved or confirmed. Treat the token as still working and try again shortly; revoking twice is harmless.");
        }
        return revoked is { } t
            ? TypedResults.Json(AdminMapping.ToView(t, time.GetUtcNow()), AdminJsonContext.Default.TokenView)
            : Errors.NotFound("token");
    });

    /// <summary>Usage and what is left of each cap: stored totals plus this instance's unflushed counters and live reservations.</summary>
    public Task<IResult> TokenUsageAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
    {
        var budget = await budgets.GetTokenBudgetAsync(owner, id, ct);
        if (budget is null) return Errors.NotFound("token");
        var grants = budget.Grants.Select(g => new GrantUsageView(g.Provider, Spend(g.Day), Spend(g.Month),
            Rate(g.RequestsPerMinute), Rate(g.RequestsPerDay), g.TokensPerRequest)).ToArray();
        return TypedResults.Json(new TokenUsageView(budget.TokenId, grants), AdminJsonContext.Default.TokenUsageView);
    });

    /// <summary><c>GET /okap/admin/usage?days=30</c>: daily counters of every token of the owner.</summary>
    public Task<IResult> UsageAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
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

    public Task<IResult> ListKeysAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
        TypedResults.Json<IReadOnlyList<KeyView>>((await keys.ListAsync(owner, ct)).Select(AdminMapping.ToView).ToArray(), AdminJsonContext.Default.IReadOnlyListKeyView));

    public Task<IResult> SetKeyAsync(HttpContext context, string provider) => AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.SetKeyBody, _maxBody, ct);
        if (error is not null) return error;
        var result = await keys.SetAsync(owner, provider, body!.Key, body.Label, body.BaseUrl, body.AuthKind,
            adminOptions.Value.AllowInsecureUpstreams, ClientAddress.Of(context), ct, check: body.Check ?? true);
        return Map(result, AdminMapping.ToView, AdminJsonContext.Default.KeyView, "key");
    });

    public Task<IResult> RemoveKeyAsync(HttpContext context, string provider) => AsOwner(context, async (owner, ct) =>
        await keys.RemoveAsync(owner, provider, ClientAddress.Of(context), ct) ? TypedResults.NoContent() : Errors.NotFound("key"));

    public Task<IResult> ListPoliciesAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
        TypedResults.Json<IReadOnlyList<PolicyView>>((await policies.ListAsync(owner, ct)).Select(AdminMapping.ToView).ToArray(), AdminJsonContext.Default.IReadOnlyListPolicyView));

    public Task<IResult> CreatePolicyAsync(HttpContext context) => SavePolicyAsync(context, null);

    public Task<IResult> UpdatePolicyAsync(HttpContext context, string id) => SavePolicyAsync(context, id);

    public Task<IResult> RemovePolicyAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
        await policies.RemoveAsync(owner, id, ct) ? TypedResults.NoContent() : Errors.NotFound("policy"));

    /// <summary>The owner's own prices (USD per million tokens), which win over the catalog.</summary>
    public Task<IResult> ListPricesAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
        TypedResults.Json<IReadOnlyList<PriceView>>((await prices.ListAsync(owner, ct)).Select(AdminMapping.ToView).ToArray(), AdminJsonContext.Default.IReadOnlyListPriceView));

    public Task<IResult> SetPriceAsync(HttpContext context, string provider, string model) => AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.PriceBody, _maxBody, ct);
        if (error is not null) return error;
        var result = await prices.SetAsync(owner, provider, ModelName(model), body!.InputPerMillion, body.CachedInputPerMillion, body.OutputPerMillion,
            body.MaxOutputTokens, ClientAddress.Of(context), ct);
        return Map(result, AdminMapping.ToView, AdminJsonContext.Default.PriceView, "price");
    });

    public Task<IResult> RemovePriceAsync(HttpContext context, string provider, string model) => AsOwner(context, async (owner, ct) =>
        await prices.RemoveAsync(owner, provider, ModelName(model), ClientAddress.Of(context), ct) ? TypedResults.NoContent() : Errors.NotFound("price"));

    /// <summary>The built-in price catalog (read-only): its version and every entry.</summary>
    public Task<IResult> CatalogAsync(HttpContext context) => AsOwner(context, (_, _) =>
        Task.FromResult<IResult>(TypedResults.Json(new CatalogView(catalog.Version, "USD", catalog.Entries.Select(AdminMapping.ToView).ToArray()),
            AdminJsonContext.Default.CatalogView)));

    // Model names may hold slashes (meta-llama/Llama-3.3-70B…): sent as-is they arrive whole through the catch-all
    // route; sent encoded, the server keeps %2F undecoded in the path, so it is decoded here.
    private static string ModelName(string model) => model.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    public Task<IResult> AuditAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
    {
        if (PageSize(context) is not { } size) return Errors.Invalid("page_size", "page_size is 1 to 200");
        if (Format(context) is not { } format) return Errors.Invalid("format", "format is json or csv");
        var q = context.Request.Query;
        var text = Empty(q["q"])?.Trim();
        if (text is { Length: > AuditQuery.MaxTextLength }) return Errors.Invalid("q", $"q is at most {AuditQuery.MaxTextLength} characters");
        var query = new AuditQuery(size, Empty(q["continuation"]), Empty(q["app"]), Empty(q["event"]), text is { Length: > 0 } ? text : null);
        if (format == "csv") return AuditCsv(owner, query with { PageSize = 200 });
        var page = await audit.ListAsync(owner, query, ct);
        return TypedResults.Json(new PageView<AuditView>(page.Items.Select(AdminMapping.ToView).ToArray(), page.ContinuationToken), AdminJsonContext.Default.PageViewAuditView);
    });

    /// <summary>The most audit rows one export holds (the newest); the app and event filters narrow a longer history.</summary>
    internal const int MaxCsvRows = 100_000;

    /// <summary>Every audit entry matching the filters, newest first, paged from the store while the file is written.</summary>
    private CsvResult AuditCsv(string owner, AuditQuery query) => new($"okap-audit-{UsageKeys.Day(time.GetUtcNow())[2..]}.csv",
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

    /// <summary>The <c>format</c> query parameter: json (the default) or csv; null for anything else.</summary>
    private static string? Format(HttpContext context) => context.Request.Query["format"].ToString() switch
    {
        "" or "json" => "json",
        "csv" => "csv",
        _ => null,
    };

    public Task<IResult> ListAccessKeysAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
        TypedResults.Json<IReadOnlyList<AccessKeyView>>((await accessKeys.ListAsync(owner, ct)).Select(AdminMapping.ToView).ToArray(), AdminJsonContext.Default.IReadOnlyListAccessKeyView));

    public Task<IResult> CreateAccessKeyAsync(HttpContext context) => AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.CreateAccessKeyBody, _maxBody, ct);
        if (error is not null) return error;
        var result = await accessKeys.CreateAsync(owner, body!.Name, body.Scopes, body.ExpiresInDays, ct);
        if (result.Outcome != Outcome.Ok) return Errors.Invalid(result.Error!);
        return TypedResults.Json(new CreatedAccessKeyView(AdminMapping.ToView(result.Value.Key), result.Value.Secret), AdminJsonContext.Default.CreatedAccessKeyView,
            statusCode: StatusCodes.Status201Created);
    });

    public Task<IResult> RevokeAccessKeyAsync(HttpContext context, string id) => AsOwner(context, async (owner, ct) =>
        await accessKeys.RevokeAsync(owner, id, ct) ? TypedResults.NoContent() : Errors.NotFound("access key"));

    private Task<IResult> SavePolicyAsync(HttpContext context, string? id) => AsOwner(context, async (owner, ct) =>
    {
        var (body, error) = await BoundedJson.ReadAsync(context.Request, AdminJsonContext.Default.PolicyBody, _maxBody, ct);
        if (error is not null) return error;
        var (limits, limitError) = ParseLimits(body!.MaxLimits, "max_limits");
        if (limitError is not null) return Errors.Invalid(limitError);
        var draft = new AutoApprovePolicy
        {
            Id = id ?? "",
            OwnerId = owner,
            Name = body.Name ?? "",
            AppName = body.AppName,
            Providers = body.Providers ?? [],
            Models = body.Models ?? [],
            Capabilities = body.Capabilities ?? [],
            MaxLimits = limits!,
            MaxDays = body.MaxDays,
            Enabled = body.Enabled ?? true,
            CreatedAt = time.GetUtcNow(),
        };
        var result = await policies.SaveAsync(owner, id, draft, ct);
        return Map(result, AdminMapping.ToView, AdminJsonContext.Default.PolicyView, "policy", id is null ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    });

    private (Grant?, FieldError?) ParseGrant(GrantBody? body, string path)
    {
        if (body is null) return (null, new FieldError(path, "entry must be an object"));
        if (string.IsNullOrEmpty(body.Provider)) return (null, new FieldError(path + ".provider", "provider is required"));
        var (limits, limitError) = ParseLimits(body.Limits, path + ".limits");
        if (limitError is not null) return (null, limitError);
        var (expires, expiryError) = parser.ParseExpiryForOwner(body.Expires, path + ".expires");
        if (expiryError is not null) return (null, expiryError);
        if (body.Capabilities?.FirstOrDefault(c => !Protocol.OkapCatalog.Capabilities.Contains(c)) is { } bad)
        {
            return (null, new FieldError(path + ".capabilities", $"unknown capability {bad}"));
        }
        return (new Grant(body.Provider, (IReadOnlyList<string>?)body.Models ?? InheritList, (IReadOnlyList<string>?)body.Capabilities ?? InheritList, limits!, expires), null);
    }

    // Marks a list the owner left out of a narrowed grant (as opposed to an explicit empty list, meaning "all").
    private static readonly string[] InheritList = new string[0];

    /// <summary>
    /// Parses an owner's narrowed grants; a grant that leaves its models or capabilities out keeps those of the
    /// <paramref name="basis"/> grant for the same provider (what was asked, or what the token holds).
    /// </summary>
    private (IReadOnlyList<Grant>? Grants, FieldError? Error) ParseGrants(List<GrantBody> bodies, IReadOnlyList<Grant> basis)
    {
        var parsed = new Grant[bodies.Count];
        for (var i = 0; i < bodies.Count; i++)
        {
            var (grant, invalid) = ParseGrant(bodies[i], $"grants[{i}]");
            if (invalid is not null) return (null, invalid);
            parsed[i] = basis.FirstOrDefault(b => b.Provider == grant!.Provider) is not { } held ? grant! : grant! with
            {
                Models = ReferenceEquals(grant.Models, InheritList) ? held.Models : grant.Models,
                Capabilities = ReferenceEquals(grant.Capabilities, InheritList) ? held.Capabilities : grant.Capabilities,
            };
        }
        return (parsed, null);
    }

    private static (Limits?, FieldError?) ParseLimits(Protocol.OkapLimits? limits, string path) => AccessRequestParser.ParseLimitsForOwner(limits, path);

    private async Task<IResult> AsOwner(HttpContext context, Func<string, CancellationToken, Task<IResult>> action)
    {
        var (owner, error) = await access.RequireOwnerAsync(context);
        if (error is not null) return error;
        using var actor = AuditActor.Use(OwnerAuth.ActorOf(context.User));
        try
        {
            return await action(owner!, context.RequestAborted);
        }
        catch (InvalidContinuationException)
        {
            return Errors.Invalid("continuation", "not a continuation token this listing returned; list again without it");
        }
    }

    private static IResult Map<T, TView>(Result<T> result, Func<T, TView> view, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TView> typeInfo, string what,
        int okStatus = StatusCodes.Status200OK) => result.Outcome switch
    {
        Outcome.Ok => TypedResults.Json(view(result.Value!), typeInfo, statusCode: okStatus),
        Outcome.NotFound => Errors.NotFound(what),
        Outcome.Conflict => Errors.Conflict(result.Message!),
        _ => Errors.Invalid(result.Error!),
    };

    private static int? PageSize(HttpContext context)
    {
        if (!context.Request.Query.TryGetValue("page_size", out var text) || string.IsNullOrEmpty(text)) return 50;
        return int.TryParse(text, out var size) && size is >= 1 and <= 200 ? size : null;
    }

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static SpendView Spend(PeriodBudget p) => new(p.Period[2..], p.Requests, p.InputTokens, p.OutputTokens, p.CostMicros / 1_000_000m,
        p.ReservedMicros / 1_000_000m, AdminMapping.Usd(p.LimitMicros), AdminMapping.Usd(p.RemainingMicros));

    private static RateView? Rate(RateBudget? r) => r is null ? null : new RateView(r.Limit, r.Used, r.Remaining);

    private static UsageRowView ToRow(UsageCounter c)
    {
        var split = c.GrantKey.LastIndexOf(':');
        return new UsageRowView(split < 0 ? c.GrantKey : c.GrantKey[..split], split < 0 ? "" : c.GrantKey[(split + 1)..], c.Period[2..],
            c.Requests, c.InputTokens, c.OutputTokens, c.CostMicros / 1_000_000m);
    }
}

/// <summary>Admin-side settings, taken from the proxy's <c>Okap:Proxy:AllowInsecureOwnerUpstreams</c>.</summary>
public sealed class OkapAdminOptions
{
    /// <summary>Allow owners to point providers at plain-http upstreams (e.g. a local Ollama). Off by default.</summary>
    public bool AllowInsecureUpstreams { get; set; }
}
