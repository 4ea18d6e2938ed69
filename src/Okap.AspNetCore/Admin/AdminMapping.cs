using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Policies;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Okap.Protocol;
using Okap.Protocol.Admin;

namespace Okap.AspNetCore.Admin;

/// <summary>From the core's records to the admin API's (Okap.Protocol.Admin).</summary>
internal static class AdminMapping
{
    public static OkapLimits ToWire(Limits limits) => new()
    {
        MonthlySpend = Usd(limits.MonthlySpendMicros),
        DailySpend = Usd(limits.DailySpendMicros),
        RequestsPerMinute = limits.RequestsPerMinute,
        RequestsPerDay = limits.RequestsPerDay,
        TokensPerRequest = limits.TokensPerRequest,
    };

    public static decimal? Usd(long? micros) => micros is null ? null : micros.Value / 1_000_000m;

    public static GrantView ToView(Grant g) => new(g.Provider, g.Models, g.Capabilities, ToWire(g.Limits), g.ExpiresAt);

    public static RequestView ToView(AccessRequest r, DateTimeOffset now) => new(r.Id, r.EffectiveStatus(now).ToString().ToLowerInvariant(),
        r.Shape == RequestShape.Sdk ? "sdk" : "spec", r.AppName, r.AppUrl, r.RedirectUri, r.Reason, r.ClientAddress,
        r.Requested.Select(ToView).ToArray(), r.Granted?.Select(ToView).ToArray(), r.CreatedAt, r.ExpiresAt, r.DecidedAt, r.DecidedBy,
        r.DenyReason, r.TokenId, r.ClaimedAt);

    public static TokenView ToView(TokenRecord t, DateTimeOffset now) => new(t.Id,
        t.RevokedAt is not null ? "revoked" : t.ExpiresAt <= now ? "expired" : "active",
        t.AppName, t.AppUrl, t.DisplayPrefix, t.Grants.Select(ToView).ToArray(), t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt, t.RequestId);

    public static KeyView ToView(MasterKeyInfo k) => new(k.Provider, k.Label, k.Last4, k.BaseUrl, k.AuthKind, k.CreatedAt, k.UpdatedAt);

    public static KeyView ToView(SavedMasterKey saved) => ToView(saved.Info) with
    {
        Check = new KeyCheckView(saved.Check.Outcome.ToString().ToLowerInvariant(), saved.Check.Detail),
    };

    public static PolicyView ToView(AutoApprovePolicy p) => new(p.Id, p.Name, p.AppName, p.Providers, p.Models, p.Capabilities,
        ToWire(p.MaxLimits), p.MaxDays, p.Enabled, p.CreatedAt);

    public static AccessKeyView ToView(PersonalAccessKey k) => new(k.Id, k.Name, k.DisplayPrefix, k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.EffectiveScopes, k.Scopes is null, k.LastUsedAt);

    public static PriceView ToView(Okap.Core.Pricing.PriceOverride p) => ToView(p.Provider, p.Model, p.Price, p.UpdatedAt);

    public static PriceView ToView(Okap.Core.Pricing.CatalogEntry e) => ToView(e.Provider, e.Model, e.Price, null);

    private static PriceView ToView(string provider, string model, Okap.Core.Pricing.ModelPrice price, DateTimeOffset? updatedAt) => new(provider, model,
        price.InputMicrosPerMillion / 1_000_000m, Usd(price.CachedInputMicrosPerMillion), price.OutputMicrosPerMillion / 1_000_000m, price.MaxOutputTokens, updatedAt);

    public static AuditView ToView(AuditEvent e) => new(e.Id, e.At, e.Event, e.Actor, e.AppName, e.ClientAddress, e.RequestId, e.TokenId, e.Detail);
}
