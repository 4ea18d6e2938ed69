using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization.Metadata;
using Okap.Protocol;
using Okap.Protocol.Admin;
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
    /// <summary>The admin API's records and their source-generated JSON, shared with the vault.</summary>
    private static readonly AdminJsonContext Wire = AdminJsonContext.Default;

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
                var page = await AllPagesAsync(vault, Path(OkapPaths.Requests), query, int.MaxValue, Wire.PageViewRequestView, ct);
                if (Json(r, page)) return;
                Table(stdout, ["ID", "STATUS", "APP", "PROVIDERS", "CREATED", "EXPIRES"],
                    Items(page).Select(x => new[] { Clean(x.Id), Clean(x.Status), Clean(x.AppName), Providers(x.Requested), Time(x.CreatedAt), Time(x.ExpiresAt) }),
                    "no requests");
            });

            var showId = IdArgument("request");
            var show = new Command("show", "Show one request: who asks, for what, and what was granted") { showId };
            Act(show, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync(Path(OkapPaths.RequestById, r.GetValue(showId)), Wire.RequestView, ct);
                if (Json(r, reply)) return;
                ShowRequest(reply.Value);
            });

            var approveId = IdArgument("request");
            var narrowing = new GrantOptions("Grant");
            var approve = new Command("approve", "Approve a pending request as asked, or narrowed (a grant can only be narrowed, never widened)") { approveId };
            narrowing.AddTo(approve);
            Act(approve, async (r, vault, ct) =>
            {
                var id = r.GetValue(approveId);
                var (chosen, narrowed) = narrowing.Read(r);
                HttpContent? body = null;
                if (narrowed is not null || chosen is not null)
                {
                    // The vault keeps whatever a grant leaves out as asked; providers left out are not granted, so name them all.
                    var request = (await vault.GetAsync(Path(OkapPaths.RequestById, id), Wire.RequestView, ct)).Value;
                    body = Decision(GrantOptions.Grants(request.Requested, chosen, narrowed, "request", "asks for"));
                }
                var reply = await vault.SendAsync(HttpMethod.Post, Path(OkapPaths.ApproveRequest, id), body, Wire.RequestView, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Approved {Clean(reply.Value.Id)} for {Clean(reply.Value.AppName)}: the app collects its token on its next poll.");
                Grants(stdout, reply.Value.Granted);
            });

            var denyId = IdArgument("request");
            var reason = new Option<string?>("--reason") { Description = "Why (shown to the app)" };
            var deny = new Command("deny", "Deny a pending request") { denyId, reason };
            Act(deny, async (r, vault, ct) =>
            {
                var text = r.GetValue(reason);
                var body = text is null ? null : VaultClient.Body(new DecisionBody(Reason: text), Wire.DecisionBody);
                var reply = await vault.SendAsync(HttpMethod.Post, Path(OkapPaths.DenyRequest, r.GetValue(denyId)), body, Wire.RequestView, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Denied {Clean(reply.Value.Id)} from {Clean(reply.Value.AppName)}.");
            });

            command.Add(list);
            command.Add(show);
            command.Add(approve);
            command.Add(deny);
            return command;
        }

        private void ShowRequest(RequestView x)
        {
            Pairs(stdout, [
                ("id", Clean(x.Id)), ("status", Clean(x.Status)), ("app", Clean(x.AppName)), ("app url", Clean(x.AppUrl)),
                ("reason", Clean(x.Reason)), ("from", Clean(x.ClientAddress)), ("shape", Clean(x.Shape)),
                ("created", Time(x.CreatedAt)), ("expires", Time(x.ExpiresAt)), ("decided", Time(x.DecidedAt)),
                ("deny reason", Clean(x.DenyReason)), ("token", Clean(x.TokenId)),
            ]);
            stdout.WriteLine();
            stdout.WriteLine("Requested:");
            Grants(stdout, x.Requested);
            if (x.Granted is not null)
            {
                stdout.WriteLine();
                stdout.WriteLine("Granted:");
                Grants(stdout, x.Granted);
            }
        }

        // ---- tokens ----

        private Command Tokens()
        {
            var command = new Command("tokens", "Tokens handed to apps: list, usage, narrow, revoke");

            var list = new Command("list", "List tokens");
            Act(list, async (r, vault, ct) =>
            {
                var page = await AllPagesAsync(vault, Path(OkapPaths.Tokens), "", int.MaxValue, Wire.PageViewTokenView, ct);
                if (Json(r, page)) return;
                Table(stdout, ["ID", "STATUS", "APP", "PREFIX", "PROVIDERS", "CREATED", "EXPIRES", "LAST USED"],
                    Items(page).Select(x => new[]
                    {
                        Clean(x.Id), Clean(x.Status), Clean(x.AppName), Clean(x.DisplayPrefix), Providers(x.Grants),
                        Time(x.CreatedAt), Time(x.ExpiresAt), Time(x.LastUsedAt),
                    }), "no tokens");
            });

            var usageId = IdArgument("token");
            var usage = new Command("usage", "Spend and rate use of a token against its caps") { usageId };
            Act(usage, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync(Path(OkapPaths.TokenUsage, r.GetValue(usageId)), Wire.TokenUsageView, ct);
                if (Json(r, reply)) return;
                var grants = reply.Value.Grants ?? [];
                Table(stdout, ["PROVIDER", "PERIOD", "REQUESTS", "INPUT", "OUTPUT", "COST", "RESERVED", "CAP", "REMAINING"],
                    grants.SelectMany(g => new[] { ("today", g.Today), ("month", g.Month) }.Select(p => new[]
                    {
                        Clean(g.Provider), $"{p.Item1} ({Clean(p.Item2?.Period)})", Number(p.Item2?.Requests), Number(p.Item2?.InputTokens), Number(p.Item2?.OutputTokens),
                        Money(p.Item2?.CostUsd), Money(p.Item2?.ReservedUsd), Money(p.Item2?.CapUsd) is { Length: > 0 } cap ? cap : "none",
                        Money(p.Item2?.RemainingUsd),
                    })), "no grants");
                foreach (var g in grants)
                {
                    var rates = new List<string>();
                    if (g.RequestsPerMinute is { } m) rates.Add($"{Number(m.Used)}/{Number(m.Limit)} requests this minute");
                    if (g.RequestsPerDay is { } d) rates.Add($"{Number(d.Used)}/{Number(d.Limit)} requests today");
                    if (Number(g.TokensPerRequest) is { Length: > 0 } t) rates.Add($"at most {t} tokens a request");
                    if (rates.Count > 0) stdout.WriteLine($"{Clean(g.Provider)}: {string.Join(", ", rates)}");
                }
            });

            var revokeId = IdArgument("token");
            var revoke = new Command("revoke", "Revoke a token: the app's calls stop at once") { revokeId };
            Act(revoke, async (r, vault, ct) =>
            {
                var reply = await vault.SendAsync(HttpMethod.Post, Path(OkapPaths.RevokeToken, r.GetValue(revokeId)), null, Wire.TokenView, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Revoked {Clean(reply.Value.Id)} ({Clean(reply.Value.AppName)}).");
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
                if (narrowed is null) throw new UsageException("nothing to narrow: give --models, --capabilities, a limit or --expires");
                // Providers left out of grants are removed from the token, so every provider it holds is named.
                var token = (await vault.GetAsync(Path(OkapPaths.TokenById, id), Wire.TokenView, ct)).Value;
                var body = Decision(GrantOptions.Grants(token.Grants, chosen, narrowed, "token", "holds"));
                var reply = await vault.SendAsync(HttpMethod.Patch, Path(OkapPaths.TokenById, id), body, Wire.TokenView, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Narrowed {Clean(reply.Value.Id)} ({Clean(reply.Value.AppName)}).");
                Grants(stdout, reply.Value.Grants);
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
                var reply = await vault.GetAsync(Path(OkapPaths.Keys), Wire.IReadOnlyListKeyView, ct);
                if (Json(r, reply)) return;
                Table(stdout, ["PROVIDER", "LABEL", "KEY", "AUTH", "BASE URL", "UPDATED"],
                    reply.Value.Select(x => new[]
                    {
                        Clean(x.Provider), Clean(x.Label), Clean(x.Last4) is { Length: > 0 } l4 ? "…" + l4 : "", Clean(x.AuthKind), Clean(x.BaseUrl), Time(x.UpdatedAt),
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
                string? key = null;
                if (kind is not ("managed-identity" or "none")) key = ReadProviderKey(r.GetValue(keyFile));
                else if (r.GetValue(keyFile) is not null) throw new UsageException($"--auth-kind {kind} takes no key: leave out --key-file");
                var body = new SetKeyBody(key, r.GetValue(label), r.GetValue(baseUrl), kind, r.GetValue(noCheck) ? false : null);
                var reply = await vault.SendAsync(HttpMethod.Put, Path(OkapPaths.KeyByProvider, r.GetValue(setProvider)), VaultClient.Body(body, Wire.SetKeyBody),
                    Wire.KeyView, ct);
                if (Json(r, reply)) return;
                var last4 = Clean(reply.Value.Last4);
                stdout.WriteLine($"Saved the {Clean(reply.Value.Provider)} key" + (last4.Length > 0 ? $" (…{last4})." : $" ({Clean(reply.Value.AuthKind)})."));
                if (reply.Value.Check is { } check) stdout.WriteLine($"Check: {Clean(check.Result)} — {Clean(check.Detail)}.");
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
                var reply = await vault.GetAsync(Path(OkapPaths.Policies), Wire.IReadOnlyListPolicyView, ct);
                if (Json(r, reply)) return;
                Table(stdout, ["ID", "NAME", "ENABLED", "APP", "PROVIDERS", "MODELS", "CAPABILITIES", "MAX LIMITS", "MAX DAYS"],
                    reply.Value.Select(x => new[]
                    {
                        Clean(x.Id), Clean(x.Name), x.Enabled ? "yes" : "no", Clean(x.AppName) is { Length: > 0 } a ? a : "*",
                        List(x.Providers), List(x.Models), List(x.Capabilities), Limits(x.MaxLimits), Number(x.MaxDays),
                    }), "no policies");
            });
            var addName = new Argument<string>("name") { Description = "A name for the policy" };
            var fields = new PolicyOptions(forEdit: false);
            var add = new Command("add", "Add a policy: requests it covers are approved without asking you (within its maximum limits and days)") { addName };
            fields.AddTo(add);
            Act(add, async (r, vault, ct) =>
            {
                var (body, _) = fields.ApplyTo(r, new PolicyBody(r.GetValue(addName), null, [], [], [], new OkapLimits(), null, true));
                var reply = await vault.SendAsync(HttpMethod.Post, Path(OkapPaths.Policies), VaultClient.Body(body, Wire.PolicyBody), Wire.PolicyView, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Added policy {Clean(reply.Value.Id)} ({Clean(reply.Value.Name)}).");
            });

            var editId = IdArgument("policy");
            var edits = new PolicyOptions(forEdit: true);
            var edit = new Command("edit", "Change a policy: what you leave out stays as it is ('*' for any app, provider, model or capability)") { editId };
            edits.AddTo(edit);
            Act(edit, async (r, vault, ct) =>
            {
                var id = r.GetValue(editId)?.Trim() ?? "";
                if (!edits.ApplyTo(r, new PolicyBody(null, null, null, null, null, null, null, null)).Changed)
                {
                    throw new UsageException("nothing to change: give --name, --app, a list, a limit, --max-days or --enabled");
                }
                // PUT replaces the whole policy: start from what it holds now.
                var current = (await vault.GetAsync(Path(OkapPaths.Policies), Wire.IReadOnlyListPolicyView, ct)).Value.FirstOrDefault(p => Clean(p.Id) == id)
                    ?? throw new VaultException(VaultError, $"policy {Clean(id)} not found");
                var (body, _) = edits.ApplyTo(r, new PolicyBody(current.Name, current.AppName, current.Providers?.ToList(), current.Models?.ToList(),
                    current.Capabilities?.ToList(), current.MaxLimits, current.MaxDays, current.Enabled));
                var reply = await vault.SendAsync(HttpMethod.Put, Path(OkapPaths.PolicyById, id), VaultClient.Body(body, Wire.PolicyBody), Wire.PolicyView, ct);
                if (Json(r, reply)) return;
                stdout.WriteLine($"Saved policy {Clean(reply.Value.Id)} ({Clean(reply.Value.Name)}).");
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
                var reply = await vault.GetAsync(path, Wire.UsageView, ct);
                if (Json(r, reply)) return;
                var rows = (reply.Value.Rows ?? []).OrderBy(x => Clean(x.Period), StringComparer.Ordinal).ToList();
                Table(stdout, ["DAY", "TOKEN", "PROVIDER", "REQUESTS", "INPUT", "OUTPUT", "COST"],
                    rows.Select(x => new[]
                    {
                        Clean(x.Period), Clean(x.TokenId), Clean(x.Provider), Number(x.Requests), Number(x.InputTokens), Number(x.OutputTokens), Money(x.CostUsd),
                    }), "no usage");
                if (rows.Count > 0)
                {
                    var total = rows.Sum(x => x.CostUsd);
                    stdout.WriteLine($"Total: {rows.Sum(x => x.Requests)} requests, ${total.ToString("0.00##", CultureInfo.InvariantCulture)}");
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
                var reply = await vault.GetAsync(Path(OkapPaths.Prices), Wire.IReadOnlyListPriceView, ct);
                if (Json(r, reply)) return;
                PriceTable(reply.Value, "no prices of your own (the catalog applies)", updated: true);
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
                var inputPrice = NonNegative(r.GetValue(input), input.Name);
                var outputPrice = NonNegative(r.GetValue(output), output.Name);
                var body = new PriceBody(inputPrice, r.GetValue(cached) is { } c ? NonNegative(c, cached.Name) : null, outputPrice,
                    r.GetValue(maxOutput) is { } m ? Positive(m, maxOutput.Name) : null);
                var reply = await vault.SendAsync(HttpMethod.Put, PricePath(r.GetValue(setProvider), r.GetValue(setModel)), VaultClient.Body(body, Wire.PriceBody),
                    Wire.PriceView, ct);
                if (Json(r, reply)) return;
                var price = reply.Value;
                stdout.WriteLine($"Saved the price of {Clean(price.Provider)}/{Clean(price.Model)}: {Money(price.InputPerMillion)} input, "
                    + $"{Money(price.OutputPerMillion)} output per million tokens.");
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

        private void PriceTable(IEnumerable<PriceView> prices, string empty, bool updated)
        {
            string[] headers = ["PROVIDER", "MODEL", "INPUT", "CACHED INPUT", "OUTPUT", "MAX OUTPUT"];
            Table(stdout, updated ? [.. headers, "UPDATED"] : headers,
                prices.Select(x => new[]
                {
                    Clean(x.Provider), Clean(x.Model), Money(x.InputPerMillion), Money(x.CachedInputPerMillion), Money(x.OutputPerMillion),
                    Number(x.MaxOutputTokens), Time(x.UpdatedAt),
                }.Take(updated ? 7 : 6).ToArray()), empty);
        }

        private Command Catalog()
        {
            var search = new Option<string?>("--search") { Description = "Only models whose provider or name contains this text", HelpName = "text" };
            var command = new Command("catalog", "The built-in price catalog (USD per million tokens)") { search };
            Act(command, async (r, vault, ct) =>
            {
                var reply = await vault.GetAsync(Path(OkapPaths.Catalog), Wire.CatalogView, ct);
                if (r.GetValue(search) is { Length: > 0 } text && reply.Value.Models is { } models)
                {
                    var keep = models.Select(m => $"{Clean(m.Provider)}/{Clean(m.Model)}".Contains(text.Trim(), StringComparison.OrdinalIgnoreCase)).ToArray();
                    reply = new(JsonText.Filtered(reply.Raw, "models", i => i < keep.Length && keep[i]),
                        reply.Value with { Models = models.Where((_, i) => keep[i]).ToArray() });
                }
                if (Json(r, reply)) return;
                stdout.WriteLine($"Catalog {Clean(reply.Value.Version)}, {Clean(reply.Value.Currency)} per million tokens:");
                PriceTable(reply.Value.Models ?? [], "no models", updated: false);
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
                var reply = await vault.GetAsync(Path(OkapPaths.AccessKeys), Wire.IReadOnlyListAccessKeyView, ct);
                if (Json(r, reply)) return;
                Table(stdout, ["ID", "NAME", "PREFIX", "SCOPES", "STATUS", "CREATED", "EXPIRES", "LAST USED"],
                    reply.Value.Select(x => new[]
                    {
                        Clean(x.Id), Clean(x.Name), Clean(x.DisplayPrefix), string.Join(",", x.Scopes ?? []),
                        x.RevokedAt is not null ? "revoked" : x.ExpiresAt <= DateTimeOffset.UtcNow ? "expired" : "active",
                        Time(x.CreatedAt), Time(x.ExpiresAt), Time(x.LastUsedAt),
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
                var page = await AllPagesAsync(vault, Path(OkapPaths.Audit), query.TrimStart('&'), max, Wire.PageViewAuditView, ct);
                if (Json(r, page)) return;
                Table(stdout, ["AT", "EVENT", "BY", "APP", "FROM", "REQUEST", "TOKEN", "DETAIL"],
                    Items(page).Select(x => new[]
                    {
                        Time(x.At), Clean(x.Event), Clean(x.Actor), Clean(x.AppName), Clean(x.ClientAddress), Clean(x.RequestId), Clean(x.TokenId), Clean(x.Detail),
                    }), "no events");
            });
            return command;
        }

        // ---- plumbing ----

        /// <summary>Follows <c>next</c> until <paramref name="max"/> items or the end; the reply is one page holding them all.</summary>
        /// <summary>
        /// Follows <c>next</c> until <paramref name="max"/> items or the end; the reply is one page holding them all (its
        /// text the pages' items as the vault wrote them).
        /// </summary>
        private static async Task<VaultReply<PageView<T>>> AllPagesAsync<T>(VaultClient vault, string path, string query, int max, JsonTypeInfo<PageView<T>> type,
            CancellationToken ct)
        {
            var items = new List<T>();
            var pages = new List<(string Raw, int Taken)>();
            string? next = null;
            do
            {
                var url = $"{path}?page_size={Math.Min(200, max - items.Count)}" + (query.Length > 0 ? "&" + query : "")
                    + (next is null ? "" : "&continuation=" + Uri.EscapeDataString(next));
                var page = await vault.GetAsync(url, type, ct);
                var taken = (page.Value.Items ?? []).Take(max - items.Count).ToList();
                items.AddRange(taken);
                pages.Add((page.Raw, taken.Count));
                next = page.Value.Next;
            }
            while (next is not null && items.Count < max);
            var raw = JsonText.Write(writer =>
            {
                writer.WriteStartObject();
                writer.WriteStartArray("items");
                foreach (var (text, taken) in pages) JsonText.WriteItems(writer, text, "items", taken);
                writer.WriteEndArray();
                writer.WriteString("next", next);
                writer.WriteEndObject();
            });
            return new VaultReply<PageView<T>>(raw, new PageView<T>(items, next));
        }

        private static IEnumerable<T> Items<T>(VaultReply<PageView<T>> page) => page.Value.Items;

        private bool Json<T>(ParseResult r, VaultReply<T> reply)
        {
            if (!r.GetValue(_json)) return false;
            stdout.WriteLine(JsonText.Indented(reply.Raw));
            return true;
        }

        /// <summary>A 204 from a delete: with --json a small object saying what went, else the sentence.</summary>
        private void Done(ParseResult r, string reply, string verb, string what, string sentence)
        {
            if (r.GetValue(_json)) stdout.WriteLine(reply.Length > 0 ? reply : JsonText.Write(writer =>
            {
                writer.WriteStartObject();
                writer.WriteString(verb, what);
                writer.WriteEndObject();
            }));
            else stdout.WriteLine(sentence);
        }

        /// <summary>The body of an approval or a narrowing: one grant per provider.</summary>
        private static HttpContent Decision(List<GrantBody> grants) => VaultClient.Body(new DecisionBody(grants), Wire.DecisionBody);

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
