using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using static Okap.Cli.Output;

namespace Okap.Cli;

/// <summary>
/// <c>okap</c>: the vault owner's command line. It speaks only the admin API (<c>/okap/admin/*</c>) with a personal
/// access key. Exit codes: 0 ok, 1 the vault refused the call, 2 usage error, 3 vault unreachable or key not accepted.
/// </summary>
public static class CliApp
{
    public const int Ok = 0, VaultError = 1, UsageError = 2, Unreachable = 3;
    public const string VaultUrlVariable = "OKAP_VAULT_URL", AccessKeyVariable = "OKAP_ACCESS_KEY";
    private const int MaxProviderKeyLength = 16 * 1024;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin, HttpMessageHandler? handler = null) =>
        RunAsync(args, stdout, stderr, stdin, handler, Environment.GetEnvironmentVariable);

    /// <summary>As above, with the environment lookup given (tests).</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, TextReader stdin, HttpMessageHandler? handler,
        Func<string, string?> environment, CancellationToken ct = default)
    {
        var app = new App(stdout, stderr, stdin, handler, environment);
        var root = app.Build();
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var error in parsed.Errors) stderr.WriteLine("error: " + error.Message);
            stderr.WriteLine("Run 'okap --help' (or 'okap <command> --help') for usage.");
            return UsageError;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false }, ct);
    }

    private sealed class App(TextWriter stdout, TextWriter stderr, TextReader stdin, HttpMessageHandler? handler, Func<string, string?> environment)
    {
        private readonly Option<string?> _vault = new("--vault") { Description = $"Vault URL (default: ${VaultUrlVariable})", Recursive = true, HelpName = "url" };
        private readonly Option<string?> _key = new("--key")
        {
            Description = $"Personal access key okap_pat_… (prefer ${AccessKeyVariable}: arguments show in the process list)", Recursive = true, HelpName = "pat",
        };
        private readonly Option<bool> _json = new("--json") { Description = "Print the vault's JSON instead of a table", Recursive = true };

        public RootCommand Build()
        {
            var root = new RootCommand($"okap: manage your OKAP vault from scripts and terminals, through the admin API with a personal access key.\n" +
                $"Settings: {VaultUrlVariable} (or --vault) and {AccessKeyVariable} (or --key).\n" +
                "Exit codes: 0 ok, 1 the vault refused the call, 2 usage error, 3 vault unreachable or key not accepted.");
            root.Add(_vault);
            root.Add(_key);
            root.Add(_json);
            root.Add(Requests());
            root.Add(Tokens());
            root.Add(Keys());
            root.Add(Policies());
            root.Add(Audit());
            return root;
        }

        // ---- requests ----

        private Command Requests()
        {
            var command = new Command("requests", "Access requests from apps: list, show, approve (optionally narrowed), deny");

            var status = new Option<string?>("--status") { Description = "Only requests in this state" };
            status.AcceptOnlyFromAmong("pending", "approved", "denied", "expired");
            var list = new Command("list", "List access requests (newest first)") { status };
            Act(list, async (r, vault, ct) =>
            {
                var page = await AllPagesAsync(vault, "/okap/admin/requests", r.GetValue(status) is { } s ? "status=" + s : "", int.MaxValue, ct);
                if (Json(r, page)) return;
                Table(stdout, ["ID", "STATUS", "APP", "PROVIDERS", "CREATED", "EXPIRES"],
                    Items(page).Select(x => new[] { S(x, "id"), S(x, "status"), S(x, "app_name"), Providers(x, "requested"), Time(x, "created_at"), Time(x, "expires_at") }),
                    "no requests");
            });

            var showId = IdArgument("request");
            var show = new Command("show", "Show one request: who asks, for what, and what was granted") { showId };
            Act(show, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync("/okap/admin/requests/" + Segment(r.GetValue(showId)), ct);
                if (Json(r, reply)) return;
                ShowRequest(reply.Json);
            });

            var approveId = IdArgument("request");
            var provider = new Option<string?>("--provider") { Description = "Which provider's grant the narrowing applies to (needed when the request names several)" };
            var models = new Option<string?>("--models") { Description = "Grant only these models (comma-separated)", HelpName = "a,b" };
            var capabilities = new Option<string?>("--capabilities") { Description = "Grant only these capabilities (comma-separated: chat, embeddings, …)", HelpName = "a,b" };
            var monthly = new Option<decimal?>("--monthly-spend") { Description = "Monthly spend cap in USD", HelpName = "usd" };
            var daily = new Option<decimal?>("--daily-spend") { Description = "Daily spend cap in USD", HelpName = "usd" };
            var rpm = new Option<int?>("--rpm") { Description = "Requests per minute", HelpName = "n" };
            var rpd = new Option<int?>("--rpd") { Description = "Requests per day", HelpName = "n" };
            var tpr = new Option<int?>("--tokens-per-request") { Description = "Tokens per request", HelpName = "n" };
            var expires = new Option<string?>("--expires") { Description = "Expiry: a date (2027-01-01, UTC midnight) or an ISO-8601 time with offset", HelpName = "date" };
            var approve = new Command("approve", "Approve a pending request as asked, or narrowed (a grant can only be narrowed, never widened)")
            {
                approveId, provider, models, capabilities, monthly, daily, rpm, rpd, tpr, expires,
            };
            Act(approve, async (r, vault, ct) =>
            {
                var id = Segment(r.GetValue(approveId));
                var limits = new JsonObject();
                if (r.GetValue(monthly) is { } m) limits["monthly_spend"] = NonNegative(m, "--monthly-spend");
                if (r.GetValue(daily) is { } d) limits["daily_spend"] = NonNegative(d, "--daily-spend");
                if (r.GetValue(rpm) is { } perMinute) limits["requests_per_minute"] = Positive(perMinute, "--rpm");
                if (r.GetValue(rpd) is { } perDay) limits["requests_per_day"] = Positive(perDay, "--rpd");
                if (r.GetValue(tpr) is { } perRequest) limits["tokens_per_request"] = Positive(perRequest, "--tokens-per-request");
                var narrowed = new JsonObject();
                if (r.GetValue(models) is { } ms) narrowed["models"] = CommaList(ms, "--models");
                if (r.GetValue(capabilities) is { } cs) narrowed["capabilities"] = CommaList(cs, "--capabilities");
                if (limits.Count > 0) narrowed["limits"] = limits;
                if (r.GetValue(expires) is { } e) narrowed["expires"] = Expiry(e);
                var chosen = r.GetValue(provider)?.Trim();

                JsonObject? body = null;
                if (narrowed.Count > 0 || chosen is not null)
                {
                    // The vault keeps whatever a grant leaves out as asked; providers left out are not granted, so name them all.
                    var request = (await vault.GetAsync("/okap/admin/requests/" + id, ct)).Json;
                    var asked = (request?["requested"] as JsonArray)?.Select(g => S(g, "provider")).ToList() ?? [];
                    if (chosen is null)
                    {
                        if (asked.Count > 1)
                        {
                            throw new UsageException($"this request asks for several providers ({string.Join(", ", asked)}): name the one to narrow with --provider");
                        }
                        chosen = asked.FirstOrDefault() ?? throw new UsageException("the request names no provider");
                    }
                    else if (!asked.Contains(chosen))
                    {
                        throw new UsageException($"--provider {chosen} is not in this request (it asks for {string.Join(", ", asked)})");
                    }
                    var grants = new JsonArray();
                    foreach (var p in asked)
                    {
                        var grant = p == chosen ? (JsonObject)narrowed.DeepClone() : [];
                        grant.Insert(0, "provider", p);
                        grants.Add(grant);
                    }
                    body = new JsonObject { ["grants"] = grants };
                }
                var reply = await vault.SendAsync(HttpMethod.Post, $"/okap/admin/requests/{id}/approve", body, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Approved {S(reply.Json, "id")} for {S(reply.Json, "app_name")}: the app collects its token on its next poll.");
                Grants(stdout, reply.Json?["granted"]);
            });

            var denyId = IdArgument("request");
            var reason = new Option<string?>("--reason") { Description = "Why (shown to the app)" };
            var deny = new Command("deny", "Deny a pending request") { denyId, reason };
            Act(deny, async (r, vault, ct) =>
            {
                var text = r.GetValue(reason);
                var body = text is null ? null : new JsonObject { ["reason"] = text };
                var reply = await vault.SendAsync(HttpMethod.Post, $"/okap/admin/requests/{Segment(r.GetValue(denyId))}/deny", body, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Denied {S(reply.Json, "id")} from {S(reply.Json, "app_name")}.");
            });

            command.Add(list);
            command.Add(show);
            command.Add(approve);
            command.Add(deny);
            return command;
        }

        private void ShowRequest(JsonNode? x)
        {
            Pairs(stdout, [
                ("id", S(x, "id")), ("status", S(x, "status")), ("app", S(x, "app_name")), ("app url", S(x, "app_url")),
                ("reason", S(x, "reason")), ("from", S(x, "client_address")), ("shape", S(x, "shape")),
                ("created", Time(x, "created_at")), ("expires", Time(x, "expires_at")), ("decided", Time(x, "decided_at")),
                ("deny reason", S(x, "deny_reason")), ("token", S(x, "token_id")),
            ]);
            stdout.WriteLine();
            stdout.WriteLine("Requested:");
            Grants(stdout, x?["requested"]);
            if (x?["granted"] is JsonArray)
            {
                stdout.WriteLine();
                stdout.WriteLine("Granted:");
                Grants(stdout, x["granted"]);
            }
        }

        // ---- tokens ----

        private Command Tokens()
        {
            var command = new Command("tokens", "Tokens handed to apps: list, usage, revoke");

            var list = new Command("list", "List tokens");
            Act(list, async (r, vault, ct) =>
            {
                var page = await AllPagesAsync(vault, "/okap/admin/tokens", "", int.MaxValue, ct);
                if (Json(r, page)) return;
                Table(stdout, ["ID", "STATUS", "APP", "PREFIX", "PROVIDERS", "CREATED", "EXPIRES", "LAST USED"],
                    Items(page).Select(x => new[]
                    {
                        S(x, "id"), S(x, "status"), S(x, "app_name"), S(x, "display_prefix"), Providers(x, "grants"),
                        Time(x, "created_at"), Time(x, "expires_at"), Time(x, "last_used_at"),
                    }), "no tokens");
            });

            var usageId = IdArgument("token");
            var usage = new Command("usage", "Spend and rate use of a token against its caps") { usageId };
            Act(usage, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync($"/okap/admin/tokens/{Segment(r.GetValue(usageId))}/usage", ct);
                if (Json(r, reply)) return;
                var grants = (reply.Json?["grants"] as JsonArray ?? []).ToList();
                Table(stdout, ["PROVIDER", "PERIOD", "REQUESTS", "INPUT", "OUTPUT", "COST", "RESERVED", "CAP", "REMAINING"],
                    grants.SelectMany(g => new[] { ("today", g?["today"]), ("month", g?["month"]) }.Select(p => new[]
                    {
                        S(g, "provider"), $"{p.Item1} ({S(p.Item2, "period")})", S(p.Item2, "requests"), S(p.Item2, "input_tokens"), S(p.Item2, "output_tokens"),
                        Money(p.Item2, "cost_usd"), Money(p.Item2, "reserved_usd"), Money(p.Item2, "cap_usd") is { Length: > 0 } cap ? cap : "none",
                        Money(p.Item2, "remaining_usd"),
                    })), "no grants");
                foreach (var g in grants)
                {
                    var rates = new List<string>();
                    if (g?["requests_per_minute"] is JsonObject m) rates.Add($"{S(m, "used")}/{S(m, "limit")} requests this minute");
                    if (g?["requests_per_day"] is JsonObject d) rates.Add($"{S(d, "used")}/{S(d, "limit")} requests today");
                    if (S(g, "tokens_per_request") is { Length: > 0 } t) rates.Add($"at most {t} tokens a request");
                    if (rates.Count > 0) stdout.WriteLine($"{S(g, "provider")}: {string.Join(", ", rates)}");
                }
            });

            var revokeId = IdArgument("token");
            var revoke = new Command("revoke", "Revoke a token: the app's calls stop at once") { revokeId };
            Act(revoke, async (r, vault, ct) =>
            {
                var reply = await vault.SendAsync(HttpMethod.Post, $"/okap/admin/tokens/{Segment(r.GetValue(revokeId))}/revoke", null, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Revoked {S(reply.Json, "id")} ({S(reply.Json, "app_name")}).");
            });

            command.Add(list);
            command.Add(usage);
            command.Add(revoke);
            return command;
        }

        // ---- keys ----

        private Command Keys()
        {
            var command = new Command("keys", "Your provider keys (the vault shows only their last four characters)");

            var list = new Command("list", "List provider keys");
            Act(list, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync("/okap/admin/keys", ct);
                if (Json(r, reply)) return;
                Table(stdout, ["PROVIDER", "LABEL", "KEY", "AUTH", "BASE URL", "UPDATED"],
                    (reply.Json as JsonArray ?? []).Select(x => new[]
                    {
                        S(x, "provider"), S(x, "label"), S(x, "last4") is { Length: > 0 } l4 ? "…" + l4 : "", S(x, "auth_kind"), S(x, "base_url"), Time(x, "updated_at"),
                    }), "no keys");
            });

            var setProvider = new Argument<string>("provider") { Description = "Provider name (openai, anthropic, …)" };
            var label = new Option<string?>("--label") { Description = "A name for the key" };
            var baseUrl = new Option<string?>("--base-url") { Description = "Upstream base URL (Azure OpenAI, self-hosted, …)", HelpName = "url" };
            var authKind = new Option<string?>("--auth-kind") { Description = "How the vault authenticates upstream (default: key)" };
            authKind.AcceptOnlyFromAmong("key", "azure-api-key", "managed-identity", "none");
            var keyFile = new Option<FileInfo?>("--key-file") { Description = "Read the provider key from this file instead of stdin", HelpName = "path" };
            var noCheck = new Option<bool>("--no-check") { Description = "Save without trying the key first (only with --base-url: the provider's own endpoint is always tried)" };
            var set = new Command("set", "Add or replace a provider key; the key is read from stdin (or --key-file), never from an argument. The vault tries it with the provider first and refuses a key the provider refuses")
            {
                setProvider, label, baseUrl, authKind, keyFile, noCheck,
            };
            Act(set, async (r, vault, ct) =>
            {
                var kind = r.GetValue(authKind);
                var body = new JsonObject();
                if (kind is not ("managed-identity" or "none")) body["key"] = ReadProviderKey(r.GetValue(keyFile));
                else if (r.GetValue(keyFile) is not null) throw new UsageException($"--auth-kind {kind} takes no key: leave out --key-file");
                if (r.GetValue(label) is { } l) body["label"] = l;
                if (r.GetValue(baseUrl) is { } u) body["base_url"] = u;
                if (kind is not null) body["auth_kind"] = kind;
                if (r.GetValue(noCheck)) body["check"] = false;
                var reply = await vault.SendAsync(HttpMethod.Put, "/okap/admin/keys/" + Segment(r.GetValue(setProvider)), body, ct);
                if (Json(r, reply)) return;
                var last4 = S(reply.Json, "last4");
                stdout.WriteLine($"Saved the {S(reply.Json, "provider")} key" + (last4.Length > 0 ? $" (…{last4})." : $" ({S(reply.Json, "auth_kind")})."));
                if (reply.Json?["check"] is JsonObject check) stdout.WriteLine($"Check: {S(check, "result")} — {S(check, "detail")}.");
            });

            var removeProvider = new Argument<string>("provider") { Description = "Provider name" };
            var remove = new Command("remove", "Remove a provider key (apps' calls to that provider fail until a new one is set)") { removeProvider };
            Act(remove, async (r, vault, ct) =>
            {
                var provider = r.GetValue(removeProvider)!;
                var reply = await vault.SendAsync(HttpMethod.Delete, "/okap/admin/keys/" + Segment(provider), null, ct);
                if (r.GetValue(_json))
                {
                    stdout.WriteLine(reply.Raw.Length > 0 ? reply.Raw : new JsonObject { ["removed"] = provider }.ToJsonString());
                    return;
                }
                stdout.WriteLine($"Removed the {Clean(provider)} key.");
            });

            command.Add(list);
            command.Add(set);
            command.Add(remove);
            return command;
        }

        private string ReadProviderKey(FileInfo? file)
        {
            string text;
            if (file is not null)
            {
                if (!file.Exists) throw new UsageException($"--key-file: {file.FullName} does not exist");
                if (file.Length > MaxProviderKeyLength) throw new UsageException("--key-file: the file is too large to be a key");
                text = File.ReadAllText(file.FullName);
            }
            else
            {
                text = stdin.ReadToEnd();
            }
            text = text.Trim();
            if (text.Length == 0) throw new UsageException("no provider key given: pipe it on stdin (okap keys set openai < key.txt) or use --key-file");
            if (text.Length > MaxProviderKeyLength || text.Any(char.IsControl)) throw new UsageException("the provider key must be one line of text");
            return text;
        }

        // ---- policies, audit ----

        private Command Policies()
        {
            var command = new Command("policies", "Auto-approve policies");
            var list = new Command("list", "List auto-approve policies");
            Act(list, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync("/okap/admin/policies", ct);
                if (Json(r, reply)) return;
                Table(stdout, ["ID", "NAME", "ENABLED", "APP", "PROVIDERS", "MODELS", "CAPABILITIES", "MAX LIMITS", "MAX DAYS"],
                    (reply.Json as JsonArray ?? []).Select(x => new[]
                    {
                        S(x, "id"), S(x, "name"), S(x, "enabled") == "true" ? "yes" : "no", S(x, "app_name") is { Length: > 0 } a ? a : "*",
                        List(x, "providers"), List(x, "models"), List(x, "capabilities"), Limits(x?["max_limits"]), S(x, "max_days"),
                    }), "no policies");
            });
            command.Add(list);
            return command;
        }

        private Command Audit()
        {
            var app = new Option<string?>("--app") { Description = "Only events of this app" };
            var @event = new Option<string?>("--event") { Description = "Only this event (request.created, token.revoked, …)" };
            var limit = new Option<int>("--limit") { Description = "Show at most this many events (newest first)", DefaultValueFactory = _ => 50, HelpName = "n" };
            var command = new Command("audit", "The vault's audit log") { app, @event, limit };
            Act(command, async (r, vault, ct) =>
            {
                var max = r.GetValue(limit);
                if (max is < 1 or > 100_000) throw new UsageException("--limit must be between 1 and 100000");
                var query = "";
                if (r.GetValue(app) is { Length: > 0 } a) query += "&app=" + Uri.EscapeDataString(a);
                if (r.GetValue(@event) is { Length: > 0 } e) query += "&event=" + Uri.EscapeDataString(e);
                var page = await AllPagesAsync(vault, "/okap/admin/audit", query.TrimStart('&'), max, ct);
                if (Json(r, page)) return;
                Table(stdout, ["AT", "EVENT", "APP", "FROM", "REQUEST", "TOKEN", "DETAIL"],
                    Items(page).Select(x => new[]
                    {
                        Time(x, "at"), S(x, "event"), S(x, "app_name"), S(x, "client_address"), S(x, "request_id"), S(x, "token_id"), S(x, "detail"),
                    }), "no events");
            });
            return command;
        }

        // ---- plumbing ----

        /// <summary>Follows <c>next</c> until <paramref name="max"/> items or the end; the reply is one page holding them all.</summary>
        private static async Task<VaultReply> AllPagesAsync(VaultClient vault, string path, string query, int max, CancellationToken ct)
        {
            var items = new JsonArray();
            string? next = null;
            do
            {
                var url = $"{path}?page_size={Math.Min(200, max - items.Count)}" + (query.Length > 0 ? "&" + query : "")
                    + (next is null ? "" : "&continuation=" + Uri.EscapeDataString(next));
                var page = (await vault.GetAsync(url, ct)).Json;
                foreach (var item in page?["items"] as JsonArray ?? [])
                {
                    if (items.Count >= max) break;
                    items.Add(item?.DeepClone());
                }
                next = page?["next"]?.GetValue<string>();
            }
            while (next is not null && items.Count < max);
            var all = new JsonObject { ["items"] = items, ["next"] = next };
            return new VaultReply(all.ToJsonString(), all);
        }

        private static IEnumerable<JsonNode?> Items(VaultReply page) => page.Json?["items"] as JsonArray ?? [];

        private bool Json(ParseResult r, VaultReply reply)
        {
            if (!r.GetValue(_json)) return false;
            stdout.WriteLine(reply.Json is null ? reply.Raw : reply.Json.ToJsonString(Indented));
            return true;
        }

        private static Argument<string> IdArgument(string what) => new("id") { Description = $"The {what}'s id" };

        private void Act(Command command, Func<ParseResult, VaultClient, CancellationToken, Task> action) =>
            command.SetAction(async (r, ct) =>
            {
                try
                {
                    using var vault = Connect(r);
                    await action(r, vault, ct);
                    return Ok;
                }
                catch (UsageException ex)
                {
                    stderr.WriteLine("error: " + ex.Message);
                    return UsageError;
                }
                catch (VaultException ex)
                {
                    stderr.WriteLine("error: " + Clean(ex.Message) + (ex.Param is null ? "" : $" (field: {Clean(ex.Param)})"));
                    return ex.ExitCode;
                }
            });

        private VaultClient Connect(ParseResult r)
        {
            var vault = VaultClient.ParseVaultUrl(r.GetValue(_vault) ?? environment(VaultUrlVariable));
            var fromArgument = r.GetValue(_key);
            var key = VaultClient.CheckAccessKey(fromArgument ?? environment(AccessKeyVariable));
            if (fromArgument is not null) stderr.WriteLine($"warning: --key is visible to other users in the process list; prefer ${AccessKeyVariable}");
            return new VaultClient(vault, key, handler);
        }

        private static string Segment(string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) throw new UsageException("an id is required");
            return Uri.EscapeDataString(value.Trim());
        }

        private static JsonArray CommaList(string text, string option)
        {
            var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (items.Length == 0) throw new UsageException($"{option} needs at least one value (comma-separated)");
            return new JsonArray(items.Select(i => (JsonNode?)i).ToArray());
        }

        private static decimal NonNegative(decimal value, string option) =>
            value >= 0 ? value : throw new UsageException($"{option} must be zero or more (USD)");

        private static int Positive(int value, string option) =>
            value > 0 ? value : throw new UsageException($"{option} must be a positive whole number");

        private static string Expiry(string text)
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
}
