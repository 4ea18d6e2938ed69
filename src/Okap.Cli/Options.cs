using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using static Okap.Cli.Output;
using static Okap.Cli.Parse;

namespace Okap.Cli;

/// <summary>Checks of option values the vault would refuse anyway, so a typo is a usage error (exit 2) before anything is sent.</summary>
internal static class Parse
{
    public static JsonArray CommaList(string text, string option)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (items.Length == 0) throw new UsageException($"{option} needs at least one value (comma-separated)");
        return new JsonArray(items.Select(i => (JsonNode?)i).ToArray());
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

    /// <summary>Only the limits given, by their wire names.</summary>
    public JsonObject Read(ParseResult r)
    {
        var limits = new JsonObject();
        if (r.GetValue(_monthly) is { } m) limits["monthly_spend"] = NonNegative(m, _monthly.Name);
        if (r.GetValue(_daily) is { } d) limits["daily_spend"] = NonNegative(d, _daily.Name);
        if (r.GetValue(_rpm) is { } perMinute) limits["requests_per_minute"] = Positive(perMinute, _rpm.Name);
        if (r.GetValue(_rpd) is { } perDay) limits["requests_per_day"] = Positive(perDay, _rpd.Name);
        if (r.GetValue(_tpr) is { } perRequest) limits["tokens_per_request"] = Positive(perRequest, _tpr.Name);
        return limits;
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

    /// <summary>The provider named (or null) and the narrowed fields of its grant (empty when nothing was narrowed).</summary>
    public (string? Provider, JsonObject Narrowed) Read(ParseResult r)
    {
        var narrowed = new JsonObject();
        if (r.GetValue(_models) is { } ms) narrowed["models"] = CommaList(ms, _models.Name);
        if (r.GetValue(_capabilities) is { } cs) narrowed["capabilities"] = CommaList(cs, _capabilities.Name);
        var limits = _limits.Read(r);
        if (limits.Count > 0) narrowed["limits"] = limits;
        if (r.GetValue(_expires) is { } e) narrowed["expires"] = Expiry(e);
        return (r.GetValue(_provider)?.Trim(), narrowed);
    }

    /// <summary>
    /// One grant per provider of <paramref name="held"/> (the vault drops providers left out), the narrowing on the chosen one.
    /// </summary>
    public static JsonArray Grants(JsonNode? held, string? chosen, JsonObject narrowed, string what, string holds)
    {
        var providers = (held as JsonArray)?.Select(g => S(g, "provider")).ToList() ?? [];
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
        var grants = new JsonArray();
        foreach (var p in providers)
        {
            var grant = p == chosen ? (JsonObject)narrowed.DeepClone() : [];
            grant.Insert(0, "provider", p);
            grants.Add(grant);
        }
        return grants;
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

    /// <summary>Writes the options given over <paramref name="body"/> (limits one by one); false when none was given.</summary>
    public bool ApplyTo(ParseResult r, JsonObject body)
    {
        var changed = false;
        void Set(string field, JsonNode? value)
        {
            body[field] = value;
            changed = true;
        }
        if (_name is not null && r.GetValue(_name) is { } name) Set("name", name);
        if (r.GetValue(_app) is { } app) Set("app_name", app.Trim() is "*" or "" ? null : app.Trim());
        if (r.GetValue(_providers) is { } providers) Set("providers", AnyOrList(providers, _providers.Name));
        if (r.GetValue(_models) is { } models) Set("models", AnyOrList(models, _models.Name));
        if (r.GetValue(_capabilities) is { } capabilities) Set("capabilities", AnyOrList(capabilities, _capabilities.Name));
        var limits = _limits.Read(r);
        if (limits.Count > 0)
        {
            var merged = body["max_limits"] as JsonObject ?? [];
            foreach (var (field, value) in limits) merged[field] = value?.DeepClone();
            Set("max_limits", merged.DeepClone());
        }
        if (r.GetValue(_maxDays) is { } days) Set("max_days", Positive(days, _maxDays.Name));
        if (r.GetValue(_enabled) is { } enabled) Set("enabled", enabled);
        return changed;
    }

    private static JsonArray AnyOrList(string text, string option) => text.Trim() == "*" ? [] : CommaList(text, option);
}
