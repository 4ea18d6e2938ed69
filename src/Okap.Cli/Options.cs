using System.CommandLine;
using System.Globalization;
using Okap.Protocol;
using Okap.Protocol.Admin;
using static Okap.Cli.Output;
using static Okap.Cli.Parse;

namespace Okap.Cli;

/// <summary>Checks of option values the vault would refuse anyway, so a typo is a usage error (exit 2) before anything is sent.</summary>
internal static class Parse
{
    public static List<string> CommaList(string text, string option)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (items.Length == 0) throw new UsageException($"{option} needs at least one value (comma-separated)");
        return [.. items];
    }

    public static decimal NonNegative(decimal value, string option) =>
        value >= 0 ? value : throw new UsageException($"{option} must be zero or more (USD)");

    public static int Positive(int value, string option) =>
        value > 0 ? value : throw new UsageException($"{option} must be a positive whole number");

    public static string Expiry(string text)
    {
        text = text.Trim();
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)) return text;
        if (text.Contains('T') && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
            && (text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > text.IndexOf('T')))
        {
            return at.ToString("o", CultureInfo.InvariantCulture);
        }
        throw new UsageException($"--expires: '{Clean(text)}' is not a date (2027-01-01) or an ISO-8601 time with offset (2027-01-01T12:00:00Z)");
    }
}

/// <summary>The five limits of the protocol as options (<c>--monthly-spend</c> …, or <c>--max-monthly-spend</c> … for policies).</summary>
internal sealed class LimitOptions
{
    private readonly Option<decimal?> _monthly, _daily;
    private readonly Option<int?> _rpm, _rpd, _tpr;

    public LimitOptions(string prefix = "", string what = "")
    {
        _monthly = new($"--{prefix}monthly-spend") { Description = $"{what}Monthly spend cap in USD", HelpName = "usd" };
        _daily = new($"--{prefix}daily-spend") { Description = $"{what}Daily spend cap in USD", HelpName = "usd" };
        _rpm = new($"--{prefix}rpm") { Description = $"{what}Requests per minute", HelpName = "n" };
        _rpd = new($"--{prefix}rpd") { Description = $"{what}Requests per day", HelpName = "n" };
        _tpr = new($"--{prefix}tokens-per-request") { Description = $"{what}Tokens per request", HelpName = "n" };
    }

    public void AddTo(Command command)
    {
        command.Add(_monthly);
        command.Add(_daily);
        command.Add(_rpm);
        command.Add(_rpd);
        command.Add(_tpr);
    }

    /// <summary>The limits given, over those of <paramref name="held"/> (which keeps the others); null when none was given.</summary>
    public OkapLimits? Read(ParseResult r, OkapLimits? held = null)
    {
        var (monthly, daily, perMinute, perDay, perRequest) = (r.GetValue(_monthly), r.GetValue(_daily), r.GetValue(_rpm), r.GetValue(_rpd), r.GetValue(_tpr));
        if (monthly is null && daily is null && perMinute is null && perDay is null && perRequest is null) return null;
        return new OkapLimits
        {
            MonthlySpend = monthly is { } m ? NonNegative(m, _monthly.Name) : held?.MonthlySpend,
            DailySpend = daily is { } d ? NonNegative(d, _daily.Name) : held?.DailySpend,
            RequestsPerMinute = perMinute is { } pm ? Positive(pm, _rpm.Name) : held?.RequestsPerMinute,
            RequestsPerDay = perDay is { } pd ? Positive(pd, _rpd.Name) : held?.RequestsPerDay,
            TokensPerRequest = perRequest is { } pr ? Positive(pr, _tpr.Name) : held?.TokensPerRequest,
        };
    }
}

/// <summary>
/// Narrowing of one provider's grant (approving a request, or narrowing a token): <c>--provider</c>, models, capabilities,
/// limits and expiry. Only what is given is sent: the vault keeps whatever a grant leaves out.
/// </summary>
internal sealed class GrantOptions
{
    private readonly Option<string?> _provider = new("--provider") { Description = "Which provider's grant the narrowing applies to (needed when there are several)" };
    private readonly Option<string?> _models;
    private readonly Option<string?> _capabilities;
    private readonly LimitOptions _limits = new();
    private readonly Option<string?> _expires = new("--expires") { Description = "Expiry: a date (2027-01-01, UTC midnight) or an ISO-8601 time with offset", HelpName = "date" };

    public GrantOptions(string verb)
    {
        _models = new("--models") { Description = $"{verb} only these models (comma-separated)", HelpName = "a,b" };
        _capabilities = new("--capabilities") { Description = $"{verb} only these capabilities (comma-separated: chat, embeddings, …)", HelpName = "a,b" };
    }

    public void AddTo(Command command)
    {
        command.Add(_provider);
        command.Add(_models);
        command.Add(_capabilities);
        _limits.AddTo(command);
        command.Add(_expires);
    }

    /// <summary>The provider named (or null) and the narrowed fields of its grant (null when nothing was narrowed; no provider yet).</summary>
    public (string? Provider, GrantBody? Narrowed) Read(ParseResult r)
    {
        var models = r.GetValue(_models) is { } ms ? CommaList(ms, _models.Name) : null;
        var capabilities = r.GetValue(_capabilities) is { } cs ? CommaList(cs, _capabilities.Name) : null;
        var limits = _limits.Read(r);
        var expires = r.GetValue(_expires) is { } e ? Expiry(e) : null;
        var narrowed = models is null && capabilities is null && limits is null && expires is null ? null : new GrantBody(null, models, capabilities, limits, expires);
        return (r.GetValue(_provider)?.Trim(), narrowed);
    }

    /// <summary>
    /// One grant per provider of <paramref name="held"/> (the vault drops providers left out), the narrowing on the chosen one.
    /// </summary>
    public static List<GrantBody> Grants(IReadOnlyList<GrantView>? held, string? chosen, GrantBody? narrowed, string what, string holds)
    {
        var providers = held?.Select(g => Clean(g.Provider)).ToList() ?? [];
        if (chosen is null)
        {
            if (providers.Count > 1)
            {
                throw new UsageException($"this {what} {holds} several providers ({string.Join(", ", providers)}): name the one to narrow with --provider");
            }
            chosen = providers.FirstOrDefault() ?? throw new UsageException($"the {what} names no provider");
        }
        else if (!providers.Contains(chosen))
        {
            throw new UsageException($"--provider {Clean(chosen)} is not in this {what} (it {holds} {string.Join(", ", providers)})");
        }
        return providers.Select(p => p == chosen && narrowed is not null ? narrowed with { Provider = p } : new GrantBody(p)).ToList();
    }
}

/// <summary>The fields of an auto-approve policy as options; <c>'*'</c> means any (an empty list, or no app name).</summary>
internal sealed class PolicyOptions
{
    private readonly Option<string?>? _name;
    private readonly Option<string?> _app = new("--app") { Description = "Only requests from the app of this name ('*': any app)", HelpName = "name" };
    private readonly Option<string?> _providers = new("--providers") { Description = "Only these providers (comma-separated; '*': any)", HelpName = "a,b" };
    private readonly Option<string?> _models = new("--models") { Description = "Only these models (comma-separated; '*': any)", HelpName = "a,b" };
    private readonly Option<string?> _capabilities = new("--capabilities") { Description = "Only these capabilities (comma-separated; '*': any)", HelpName = "a,b" };
    private readonly LimitOptions _limits = new("max-", "At most this: ");
    private readonly Option<int?> _maxDays = new("--max-days") { Description = "Tokens it approves expire within n days", HelpName = "n" };
    private readonly Option<bool?> _enabled = new("--enabled") { Description = "Whether the policy applies (default: true)", HelpName = "true|false" };

    public PolicyOptions(bool forEdit)
    {
        if (forEdit) _name = new("--name") { Description = "A new name" };
    }

    public void AddTo(Command command)
    {
        if (_name is not null) command.Add(_name);
        command.Add(_app);
        command.Add(_providers);
        command.Add(_models);
        command.Add(_capabilities);
        _limits.AddTo(command);
        command.Add(_maxDays);
        command.Add(_enabled);
    }

    /// <summary>The options given written over <paramref name="body"/> (limits one by one); Changed is false when none was given.</summary>
    public (PolicyBody Body, bool Changed) ApplyTo(ParseResult r, PolicyBody body)
    {
        var changed = false;
        void Set(Func<PolicyBody, PolicyBody> change)
        {
            body = change(body);
            changed = true;
        }
        if (_name is not null && r.GetValue(_name) is { } name) Set(b => b with { Name = name });
        if (r.GetValue(_app) is { } app) Set(b => b with { AppName = app.Trim() is "*" or "" ? null : app.Trim() });
        if (r.GetValue(_providers) is { } providers) Set(b => b with { Providers = AnyOrList(providers, _providers.Name) });
        if (r.GetValue(_models) is { } models) Set(b => b with { Models = AnyOrList(models, _models.Name) });
        if (r.GetValue(_capabilities) is { } capabilities) Set(b => b with { Capabilities = AnyOrList(capabilities, _capabilities.Name) });
        if (_limits.Read(r, body.MaxLimits) is { } limits) Set(b => b with { MaxLimits = limits });
        if (r.GetValue(_maxDays) is { } days) Set(b => b with { MaxDays = Positive(days, _maxDays.Name) });
        if (r.GetValue(_enabled) is { } enabled) Set(b => b with { Enabled = enabled });
        return (body, changed);
    }

    private static List<string> AnyOrList(string text, string option) => text.Trim() == "*" ? [] : CommaList(text, option);
}
