using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Okap.Protocol;
using static Okap.Cli.Output;
using static Okap.Cli.Parse;

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
            root.Add(Usage());
            root.Add(Audit());
            root.Add(Prices());
            root.Add(Catalog());
            root.Add(AccessKeys());
            return root;
        }

        // ---- requests ----

        private Command Requests()
        {
            var command = new Command("requests", "Access requests from apps: list, show, approve (optionally narrowed), deny");

            var status = new Option<string?>("--status") { Description = "Only requests in this state" };
            status.AcceptOnlyFromAmong("pending", "approved", "denied", "expired");
            var search = new Option<string?>("--search", "-q") { Description = "Only requests whose app name or provider holds this text (any case)", HelpName = "text" };
            var list = new Command("list", "List access requests (newest first)") { status, search };
            Act(list, async (r, vault, ct) =>
            {
                var query = r.GetValue(status) is { } s ? "status=" + s : "";
                if (r.GetValue(search) is { Length: > 0 } text) query += (query.Length > 0 ? "&" : "") + "q=" + Uri.EscapeDataString(text);
                var page = await AllPagesAsync(vault, Path(OkapPaths.Requests), query, int.MaxValue, ct);
                if (Json(r, page)) return;
                Table(stdout, ["ID", "STATUS", "APP", "PROVIDERS", "CREATED", "EXPIRES"],
                    Items(page).Select(x => new[] { S(x, "id"), S(x, "status"), S(x, "app_name"), Providers(x, "requested"), Time(x, "created_at"), Time(x, "expires_at") }),
                    "no requests");
            });

            var showId = IdArgument("request");
            var show = new Command("show", "Show one request: who asks, for what, and what was granted") { showId };
            Act(show, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync(Path(OkapPaths.RequestById, r.GetValue(showId)), ct);
                if (Json(r, reply)) return;
                ShowRequest(reply.Json);
            });

            var approveId = IdArgument("request");
            var narrowing = new GrantOptions("Grant");
            var approve = new Command("approve", "Approve a pending request as asked, or narrowed (a grant can only be narrowed, never widened)") { approveId };
            narrowing.AddTo(approve);
            Act(approve, async (r, vault, ct) =>
            {
                var id = r.GetValue(approveId);
                var (chosen, narrowed) = narrowing.Read(r);
                JsonObject? body = null;
                if (narrowed.Count > 0 || chosen is not null)
                {
                    // The vault keeps whatever a grant leaves out as asked; providers left out are not granted, so name them all.
                    var request = (await vault.GetAsync(Path(OkapPaths.RequestById, id), ct)).Json;
                    body = new JsonObject { ["grants"] = GrantOptions.Grants(request?["requested"], chosen, narrowed, "request", "asks for") };
                }
                var reply = await vault.SendAsync(HttpMethod.Post, Path(OkapPaths.ApproveRequest, id), body, ct);
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
                var reply = await vault.SendAsync(HttpMethod.Post, Path(OkapPaths.DenyRequest, r.GetValue(denyId)), body, ct);
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
            var command = new Command("tokens", "Tokens handed to apps: list, usage, narrow, revoke");

            var list = new Command("list", "List tokens");
            Act(list, async (r, vault, ct) =>
            {
                var page = await AllPagesAsync(vault, Path(OkapPaths.Tokens), "", int.MaxValue, ct);
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
                var reply = await vault.GetAsync(Path(OkapPaths.TokenUsage, r.GetValue(usageId)), ct);
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
                var reply = await vault.SendAsync(HttpMethod.Post, Path(OkapPaths.RevokeToken, r.GetValue(revokeId)), null, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Revoked {S(reply.Json, "id")} ({S(reply.Json, "app_name")}).");
            });

            var narrowId = IdArgument("token");
            var narrowing = new GrantOptions("Keep");
            var narrow = new Command("narrow", "Narrow an active token: fewer models or capabilities, lower limits, an earlier expiry (anything wider is refused: the app must ask again)")
            {
                narrowId,
            };
            narrowing.AddTo(narrow);
            Act(narrow, async (r, vault, ct) =>
            {
                var id = r.GetValue(narrowId);
                var (chosen, narrowed) = narrowing.Read(r);
                if (narrowed.Count == 0) throw new UsageException("nothing to narrow: give --models, --capabilities, a limit or --expires");
                // Providers left out of grants are removed from the token, so every provider it holds is named.
                var token = (await vault.GetAsync(Path(OkapPaths.TokenById, id), ct)).Json;
                var body = new JsonObject { ["grants"] = GrantOptions.Grants(token?["grants"], chosen, narrowed, "token", "holds") };
                var reply = await vault.SendAsync(HttpMethod.Patch, Path(OkapPaths.TokenById, id), body, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Narrowed {S(reply.Json, "id")} ({S(reply.Json, "app_name")}).");
                Grants(stdout, reply.Json?["grants"]);
            });

            command.Add(list);
            command.Add(usage);
            command.Add(narrow);
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
                var reply = await vault.GetAsync(Path(OkapPaths.Keys), ct);
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
                var reply = await vault.SendAsync(HttpMethod.Put, Path(OkapPaths.KeyByProvider, r.GetValue(setProvider)), body, ct);
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
                var reply = await vault.SendAsync(HttpMethod.Delete, Path(OkapPaths.KeyByProvider, provider), null, ct);
                Done(r, reply, "removed", provider, $"Removed the {Clean(provider)} key.");
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
                var reply = await vault.GetAsync(Path(OkapPaths.Policies), ct);
                if (Json(r, reply)) return;
                Table(stdout, ["ID", "NAME", "ENABLED", "APP", "PROVIDERS", "MODELS", "CAPABILITIES", "MAX LIMITS", "MAX DAYS"],
                    (reply.Json as JsonArray ?? []).Select(x => new[]
                    {
                        S(x, "id"), S(x, "name"), S(x, "enabled") == "true" ? "yes" : "no", S(x, "app_name") is { Length: > 0 } a ? a : "*",
                        List(x, "providers"), List(x, "models"), List(x, "capabilities"), Limits(x?["max_limits"]), S(x, "max_days"),
                    }), "no policies");
            });
            var addName = new Argument<string>("name") { Description = "A name for the policy" };
            var fields = new PolicyOptions(forEdit: false);
            var add = new Command("add", "Add a policy: requests it covers are approved without asking you (within its maximum limits and days)") { addName };
            fields.AddTo(add);
            Act(add, async (r, vault, ct) =>
            {
                var body = new JsonObject
                {
                    ["name"] = r.GetValue(addName), ["app_name"] = null, ["providers"] = new JsonArray(), ["models"] = new JsonArray(),
                    ["capabilities"] = new JsonArray(), ["max_limits"] = new JsonObject(), ["max_days"] = null, ["enabled"] = true,
                };
                fields.ApplyTo(r, body);
                var reply = await vault.SendAsync(HttpMethod.Post, Path(OkapPaths.Policies), body, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Added policy {S(reply.Json, "id")} ({S(reply.Json, "name")}).");
            });

            var editId = IdArgument("policy");
            var edits = new PolicyOptions(forEdit: true);
            var edit = new Command("edit", "Change a policy: what you leave out stays as it is ('*' for any app, provider, model or capability)") { editId };
            edits.AddTo(edit);
            Act(edit, async (r, vault, ct) =>
            {
                var id = r.GetValue(editId)?.Trim() ?? "";
                if (!edits.ApplyTo(r, [])) throw new UsageException("nothing to change: give --name, --app, a list, a limit, --max-days or --enabled");
                // PUT replaces the whole policy: start from what it holds now.
                var current = ((await vault.GetAsync(Path(OkapPaths.Policies), ct)).Json as JsonArray ?? []).FirstOrDefault(p => S(p, "id") == id)
                    ?? throw new VaultException(VaultError, $"policy {Clean(id)} not found");
                var body = new JsonObject();
                foreach (var name in new[] { "name", "app_name", "providers", "models", "capabilities", "max_limits", "max_days", "enabled" })
                {
                    body[name] = current[name]?.DeepClone();
                }
                edits.ApplyTo(r, body);
                var reply = await vault.SendAsync(HttpMethod.Put, Path(OkapPaths.PolicyById, id), body, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Saved policy {S(reply.Json, "id")} ({S(reply.Json, "name")}).");
            });

            var remove = DeleteCommand("remove", "Remove a policy (tokens it approved stay)", "policy", OkapPaths.PolicyById, "Removed policy");

            command.Add(list);
            command.Add(add);
            command.Add(edit);
            command.Add(remove);
            return command;
        }

        private Command Usage()
        {
            var days = new Option<int>("--days") { Description = "The last n days, today included (1 to 400)", DefaultValueFactory = _ => 30, HelpName = "n" };
            var csv = CsvOption("one row a day, token and provider, with the app's name");
            var command = new Command("usage", "What every token used, day by day") { days, csv };
            Act(command, async (r, vault, ct) =>
            {
                var path = Path(OkapPaths.Usage) + "?days=" + r.GetValue(days).ToString(CultureInfo.InvariantCulture);
                if (await CsvAsync(r, csv, vault, path + "&format=csv", ct)) return;
                var reply = await vault.GetAsync(path, ct);
                if (Json(r, reply)) return;
                var rows = (reply.Json?["rows"] as JsonArray ?? []).OrderBy(x => S(x, "period"), StringComparer.Ordinal).ToList();
                Table(stdout, ["DAY", "TOKEN", "PROVIDER", "REQUESTS", "INPUT", "OUTPUT", "COST"],
                    rows.Select(x => new[]
                    {
                        S(x, "period"), S(x, "token_id"), S(x, "provider"), S(x, "requests"), S(x, "input_tokens"), S(x, "output_tokens"), Money(x, "cost_usd"),
                    }), "no usage");
                if (rows.Count > 0)
                {
                    var total = rows.Sum(x => x?["cost_usd"]?.GetValue<decimal>() ?? 0);
                    stdout.WriteLine($"Total: {rows.Sum(x => x?["requests"]?.GetValue<long>() ?? 0)} requests, ${total.ToString("0.00##", CultureInfo.InvariantCulture)}");
                }
            });
            return command;
        }

        private Command Prices()
        {
            var command = new Command("prices", "Your own prices (USD per million tokens), which win over the built-in catalog");
            var list = new Command("list", "List your prices");
            Act(list, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync(Path(OkapPaths.Prices), ct);
                if (Json(r, reply)) return;
                PriceTable(reply.Json as JsonArray ?? [], "no prices of your own (the catalog applies)", updated: true);
            });

            var setProvider = new Argument<string>("provider") { Description = "Provider name" };
            var setModel = new Argument<string>("model") { Description = "Model name as apps send it ('*' for the provider's models the catalog does not price)" };
            var input = new Option<decimal>("--input") { Description = "USD per million input tokens", HelpName = "usd", Required = true };
            var output = new Option<decimal>("--output") { Description = "USD per million output tokens", HelpName = "usd", Required = true };
            var cached = new Option<decimal?>("--cached-input") { Description = "USD per million cached input tokens", HelpName = "usd" };
            var maxOutput = new Option<int?>("--max-output-tokens") { Description = "The model's most output tokens a request (what a request without max_tokens reserves)", HelpName = "n" };
            var set = new Command("set", "Add or replace your price of a model") { setProvider, setModel, input, output, cached, maxOutput };
            Act(set, async (r, vault, ct) =>
            {
                var body = new JsonObject
                {
                    ["input_per_million"] = NonNegative(r.GetValue(input), input.Name),
                    ["output_per_million"] = NonNegative(r.GetValue(output), output.Name),
                };
                if (r.GetValue(cached) is { } c) body["cached_input_per_million"] = NonNegative(c, cached.Name);
                if (r.GetValue(maxOutput) is { } m) body["max_output_tokens"] = Positive(m, maxOutput.Name);
                var reply = await vault.SendAsync(HttpMethod.Put, PricePath(r.GetValue(setProvider), r.GetValue(setModel)), body, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Saved the price of {S(reply.Json, "provider")}/{S(reply.Json, "model")}: {Money(reply.Json, "input_per_million")} input, "
                    + $"{Money(reply.Json, "output_per_million")} output per million tokens.");
            });

            var removeProvider = new Argument<string>("provider") { Description = "Provider name" };
            var removeModel = new Argument<string>("model") { Description = "Model name" };
            var remove = new Command("remove", "Remove your price of a model (the catalog's applies again)") { removeProvider, removeModel };
            Act(remove, async (r, vault, ct) =>
            {
                var (provider, model) = (r.GetValue(removeProvider)!, r.GetValue(removeModel)!);
                var reply = await vault.SendAsync(HttpMethod.Delete, PricePath(provider, model), null, ct);
                Done(r, reply, "removed", $"{provider}/{model}", $"Removed your price of {Clean(provider)}/{Clean(model)}.");
            });

            command.Add(list);
            command.Add(set);
            command.Add(remove);
            return command;
        }

        // Model names may hold '/': each part is one encoded path segment (the vault decodes %2F in the model).
        private static string PricePath(string? provider, string? model) => Path(OkapPaths.PriceByModel, provider, model);

        private void PriceTable(IEnumerable<JsonNode?> prices, string empty, bool updated)
        {
            string[] headers = ["PROVIDER", "MODEL", "INPUT", "CACHED INPUT", "OUTPUT", "MAX OUTPUT"];
            Table(stdout, updated ? [.. headers, "UPDATED"] : headers,
                prices.Select(x => new[]
                {
                    S(x, "provider"), S(x, "model"), Money(x, "input_per_million"), Money(x, "cached_input_per_million"), Money(x, "output_per_million"),
                    S(x, "max_output_tokens"), Time(x, "updated_at"),
                }.Take(updated ? 7 : 6).ToArray()), empty);
        }

        private Command Catalog()
        {
            var search = new Option<string?>("--search") { Description = "Only models whose provider or name contains this text", HelpName = "text" };
            var command = new Command("catalog", "The built-in price catalog (USD per million tokens)") { search };
            Act(command, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync(Path(OkapPaths.Catalog), ct);
                if (r.GetValue(search) is { Length: > 0 } text && reply.Json?["models"] is JsonArray models)
                {
                    var kept = models.Where(m => $"{S(m, "provider")}/{S(m, "model")}".Contains(text.Trim(), StringComparison.OrdinalIgnoreCase)).Select(m => m?.DeepClone()).ToArray();
                    reply.Json["models"] = new JsonArray(kept);
                    reply = reply with { Raw = reply.Json.ToJsonString() };
                }
                if (Json(r, reply)) return;
                stdout.WriteLine($"Catalog {S(reply.Json, "version")}, {S(reply.Json, "currency")} per million tokens:");
                PriceTable(reply.Json?["models"] as JsonArray ?? [], "no models", updated: false);
            });
            return command;
        }

        private Command AccessKeys()
        {
            // Keys are created and revoked on the vault's page only (a browser session): a key that could mint keys
            // would let a leaked one outlive its revocation.
            var command = new Command("access-keys", "List personal access keys (okap_pat_…; create and revoke them on the vault's page)");
            var list = new Command("list", "List personal access keys");
            Act(list, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync(Path(OkapPaths.AccessKeys), ct);
                if (Json(r, reply)) return;
                Table(stdout, ["ID", "NAME", "PREFIX", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED"],
                    (reply.Json as JsonArray ?? []).Select(x => new[]
                    {
                        S(x, "id"), S(x, "name"), S(x, "display_prefix"), string.Join(",", (x?["scopes"] as JsonArray ?? []).Select(v => v?.GetValue<string>())),
                        x?["revoked_at"] is JsonValue ? "revoked" : x?["expires_at"] is JsonValue e && e.GetValue<DateTimeOffset>() <= DateTimeOffset.UtcNow ? "expired" : "active",
                        Time(x, "created_at"), Time(x, "expires_at"), Time(x, "last_used_at"),
                    }), "no access keys");
            });

            command.Add(list);
            return command;
        }

        private Command Audit()
        {
            var app = new Option<string?>("--app") { Description = "Only events of this app" };
            var @event = new Option<string?>("--event") { Description = "Only this event (request.created, token.revoked, …)" };
            var search = new Option<string?>("--search", "-q") { Description = "Only events with this text (case-insensitive) in their event, app, detail, address or ids", HelpName = "text" };
            var limit = new Option<int>("--limit") { Description = "Show at most this many events (newest first)", DefaultValueFactory = _ => 50, HelpName = "n" };
            var csv = CsvOption("every matching event, newest first, at most 100000; --limit does not apply");
            var command = new Command("audit", "The vault's audit log") { app, @event, search, limit, csv };
            Act(command, async (r, vault, ct) =>
            {
                var max = r.GetValue(limit);
                if (max is < 1 or > 100_000) throw new UsageException("--limit must be between 1 and 100000");
                var query = "";
                if (r.GetValue(app) is { Length: > 0 } a) query += "&app=" + Uri.EscapeDataString(a);
                if (r.GetValue(@event) is { Length: > 0 } e) query += "&event=" + Uri.EscapeDataString(e);
                if (r.GetValue(search) is { Length: > 0 } text) query += "&q=" + Uri.EscapeDataString(text);
                if (await CsvAsync(r, csv, vault, Path(OkapPaths.Audit) + "?format=csv" + query, ct)) return;
                var page = await AllPagesAsync(vault, Path(OkapPaths.Audit), query.TrimStart('&'), max, ct);
                if (Json(r, page)) return;
                Table(stdout, ["AT", "EVENT", "BY", "APP", "FROM", "REQUEST", "TOKEN", "DETAIL"],
                    Items(page).Select(x => new[]
                    {
                        Time(x, "at"), S(x, "event"), S(x, "actor"), S(x, "app_name"), S(x, "client_address"), S(x, "request_id"), S(x, "token_id"), S(x, "detail"),
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

        /// <summary>A 204 from a delete: with --json a small object saying what went, else the sentence.</summary>
        private void Done(ParseResult r, VaultReply reply, string verb, string what, string sentence)
        {
            if (r.GetValue(_json)) stdout.WriteLine(reply.Raw.Length > 0 ? reply.Raw : new JsonObject { [verb] = what }.ToJsonString());
            else stdout.WriteLine(sentence);
        }

        /// <summary><c>remove</c>/<c>revoke</c> of one thing by id: a DELETE answered 204.</summary>
        private Command DeleteCommand(string name, string description, string what, string pattern, string sentence)
        {
            var id = IdArgument(what);
            var command = new Command(name, description) { id };
            Act(command, async (r, vault, ct) =>
            {
                var value = r.GetValue(id)!;
                var reply = await vault.SendAsync(HttpMethod.Delete, Path(pattern, value), null, ct);
                Done(r, reply, name + "d", value, $"{sentence} {Clean(value)}.");
            });
            return command;
        }

        private static Option<bool> CsvOption(string what) => new("--csv") { Description = $"Print the vault's CSV file unchanged ({what})" };

        /// <summary>With --csv, streams the vault's CSV to stdout as it comes and returns true.</summary>
        private async Task<bool> CsvAsync(ParseResult r, Option<bool> csv, VaultClient vault, string path, CancellationToken ct)
        {
            if (!r.GetValue(csv)) return false;
            if (r.GetValue(_json)) throw new UsageException("--csv and --json: choose one");
            await vault.CopyToAsync(path, stdout, ct);
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

        /// <summary>The path of an admin route (<see cref="OkapPaths"/>, the vault's own patterns) with its ids or names, each trimmed and percent-encoded.</summary>
        private static string Path(string pattern, params string?[] values) => OkapPaths.Format(pattern, values.Select(value =>
            string.IsNullOrWhiteSpace(value) ? throw new UsageException("an id is required") : value.Trim()).ToArray());
    }
}
