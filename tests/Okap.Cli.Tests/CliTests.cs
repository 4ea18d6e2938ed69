using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Cli.Tests;

/// <summary><c>okap</c> against the real server in memory, through the admin API with a personal access key only.</summary>
public sealed class CliTests
{
    private static string[] A(params string[] args) => args;

    private static void Succeeded(CliRun run) => Assert.True(run.ExitCode == 0, run.ToString());

    [Fact]
    public async Task Requests_list_shows_pending_requests_and_filters_by_status()
    {
        using var vault = await CliVault.StartAsync();
        var first = await vault.AuthorizeAsync("Notes App");
        var second = await vault.AuthorizeAsync("Mail App", "openai", "anthropic");

        var list = await vault.RunAsync(A("requests", "list"));
        Succeeded(list);
        Assert.Contains("ID", list.Stdout);
        Assert.Contains(first, list.Stdout);
        Assert.Contains(second, list.Stdout);
        Assert.Contains("openai,anthropic", list.Stdout);
        Assert.Contains("Notes App", list.Stdout);

        var pending = await vault.RunAsync(A("requests", "list", "--status", "pending", "--json"));
        Succeeded(pending);
        Assert.Equal(2, pending.Json["items"]!.AsArray().Count);
        Assert.All(pending.Json["items"]!.AsArray(), item => Assert.Equal("pending", item!["status"]!.GetValue<string>()));

        var denied = await vault.RunAsync(A("requests", "list", "--status", "denied"));
        Succeeded(denied);
        Assert.Contains("no requests", denied.Stdout);

        var show = await vault.RunAsync(A("requests", "show", first));
        Succeeded(show);
        Assert.Contains("Notes App", show.Stdout);
        Assert.Contains("Requested:", show.Stdout);
        Assert.Contains("gpt-4,gpt-4o-mini", show.Stdout);
        Assert.Contains("$10.00/month", show.Stdout);
    }

    [Fact]
    public async Task Approve_narrows_a_single_provider_request_and_keeps_what_was_left_out()
    {
        using var vault = await CliVault.StartAsync();
        var id = await vault.AuthorizeAsync();
        var expires = DateTime.UtcNow.AddDays(20).ToString("yyyy-MM-dd");

        var approve = await vault.RunAsync(A("requests", "approve", id, "--models", "gpt-4", "--capabilities", "chat", "--monthly-spend", "5",
            "--rpm", "30", "--expires", expires));
        Succeeded(approve);
        Assert.Contains("Approved " + id, approve.Stdout);

        var shown = await vault.RunAsync(A("requests", "show", id, "--json"));
        Succeeded(shown);
        Assert.Equal("approved", shown.Json["status"]!.GetValue<string>());
        var grant = shown.Json["granted"]!.AsArray().Single()!;
        Assert.Equal(["gpt-4"], grant["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(["chat"], grant["capabilities"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(5m, grant["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(1m, grant["limits"]!["daily_spend"]!.GetValue<decimal>());     // left out: kept as asked
        Assert.Equal(30, grant["limits"]!["requests_per_minute"]!.GetValue<int>());
        Assert.Equal(1000, grant["limits"]!["requests_per_day"]!.GetValue<int>());
        Assert.StartsWith(expires, grant["expires_at"]!.GetValue<string>());
    }

    [Fact]
    public async Task Approve_of_a_multi_provider_request_needs_provider_to_narrow_and_grants_the_others_as_asked()
    {
        using var vault = await CliVault.StartAsync();
        var id = await vault.AuthorizeAsync("Example App", "openai", "anthropic");

        var ambiguous = await vault.RunAsync(A("requests", "approve", id, "--monthly-spend", "2"));
        Assert.Equal(2, ambiguous.ExitCode);
        Assert.Contains("--provider", ambiguous.Stderr);
        Assert.Contains("openai, anthropic", ambiguous.Stderr);

        var unknown = await vault.RunAsync(A("requests", "approve", id, "--provider", "mistral", "--rpm", "5"));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("mistral is not in this request", unknown.Stderr);

        var approve = await vault.RunAsync(A("requests", "approve", id, "--provider", "anthropic", "--monthly-spend", "2", "--json"));
        Succeeded(approve);
        var granted = approve.Json["granted"]!.AsArray();
        Assert.Equal(2, granted.Count);
        Assert.Equal(2m, granted.Single(g => g!["provider"]!.GetValue<string>() == "anthropic")!["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(10m, granted.Single(g => g!["provider"]!.GetValue<string>() == "openai")!["limits"]!["monthly_spend"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Deny_records_the_reason()
    {
        using var vault = await CliVault.StartAsync();
        var id = await vault.AuthorizeAsync();

        var deny = await vault.RunAsync(A("requests", "deny", id, "--reason", "not this app"));
        Succeeded(deny);
        Assert.Contains("Denied " + id, deny.Stdout);

        var shown = await vault.RunAsync(A("requests", "show", id, "--json"));
        Assert.Equal("denied", shown.Json["status"]!.GetValue<string>());
        Assert.Equal("not this app", shown.Json["deny_reason"]!.GetValue<string>());

        var again = await vault.RunAsync(A("requests", "deny", id));
        Assert.Equal(1, again.ExitCode);
        Assert.StartsWith("error: ", again.Stderr);
    }

    [Fact]
    public async Task A_vault_400_exits_1_naming_the_field()
    {
        using var vault = await CliVault.StartAsync();
        var id = await vault.AuthorizeAsync();

        // Widening beyond the request is refused by the vault, not by the command line.
        var widen = await vault.RunAsync(A("requests", "approve", id, "--monthly-spend", "50"));
        Assert.Equal(1, widen.ExitCode);
        Assert.Contains("(field: grants[0].", widen.Stderr);
        Assert.Contains("monthly_spend", widen.Stderr);
        Assert.Empty(widen.Stdout);

        var unknownProvider = await vault.RunAsync(A("keys", "set", "not-a-provider"), stdin: "sk-whatever-1234");
        Assert.Equal(1, unknownProvider.ExitCode);
        Assert.Contains("(field: provider)", unknownProvider.Stderr);

        var missing = await vault.RunAsync(A("requests", "show", "req_does_not_exist"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("not found", missing.Stderr);
    }

    [Fact]
    public async Task Tokens_list_usage_and_revoke()
    {
        using var vault = await CliVault.StartAsync();
        var id = await vault.AuthorizeAsync("Token App");
        Succeeded(await vault.RunAsync(A("requests", "approve", id)));
        await vault.ClaimAsync(id);

        var list = await vault.RunAsync(A("tokens", "list", "--json"));
        Succeeded(list);
        var token = list.Json["items"]!.AsArray().Single()!;
        var tokenId = token["id"]!.GetValue<string>();
        Assert.Equal("active", token["status"]!.GetValue<string>());

        var table = await vault.RunAsync(A("tokens", "list"));
        Succeeded(table);
        Assert.Contains(tokenId, table.Stdout);
        Assert.Contains("Token App", table.Stdout);
        Assert.Contains("active", table.Stdout);

        var usage = await vault.RunAsync(A("tokens", "usage", tokenId));
        Succeeded(usage);
        Assert.Contains("openai", usage.Stdout);
        Assert.Contains("today", usage.Stdout);
        Assert.Contains("$10.00", usage.Stdout);
        Assert.Contains("0/60 requests this minute", usage.Stdout);

        var usageJson = await vault.RunAsync(A("tokens", "usage", tokenId, "--json"));
        Succeeded(usageJson);
        Assert.Equal(tokenId, usageJson.Json["token_id"]!.GetValue<string>());
        Assert.Equal(10m, usageJson.Json["grants"]![0]!["month"]!["cap_usd"]!.GetValue<decimal>());

        var revoke = await vault.RunAsync(A("tokens", "revoke", tokenId));
        Succeeded(revoke);
        Assert.Contains("Revoked " + tokenId, revoke.Stdout);
        var after = await vault.RunAsync(A("tokens", "list", "--json"));
        Assert.Equal("revoked", after.Json["items"]![0]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Keys_set_reads_the_key_from_stdin_and_never_shows_it()
    {
        using var vault = await CliVault.StartAsync();
        const string secret = "sk-test-VERY-SECRET-provider-key-9z8y7x6w";

        var set = await vault.RunAsync(A("keys", "set", "openai", "--label", "personal"), stdin: secret + "\n");
        Succeeded(set);
        Assert.Contains("…7x6w", set.Stdout);
        // The vault tried the key before saving it, and the CLI says what came of that.
        Assert.Contains("Check: ", set.Stdout);
        var list = await vault.RunAsync(A("keys", "list"));
        Succeeded(list);
        Assert.Contains("openai", list.Stdout);
        Assert.Contains("personal", list.Stdout);
        Assert.Contains("…7x6w", list.Stdout);
        var json = await vault.RunAsync(A("keys", "list", "--json"));
        Succeeded(json);
        Assert.Equal("7x6w", json.Json[0]!["last4"]!.GetValue<string>());
        foreach (var run in new[] { set, list, json })
        {
            Assert.DoesNotContain(secret, run.Stdout);
            Assert.DoesNotContain(secret, run.Stderr);
            Assert.DoesNotContain("VERY-SECRET", run.Stdout + run.Stderr);
        }

        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "sk-ant-from-a-file-abcd\n");
            var fromFile = await vault.RunAsync(A("keys", "set", "anthropic", "--key-file", file));
            Succeeded(fromFile);
            Assert.DoesNotContain("sk-ant-from-a-file", fromFile.Stdout + fromFile.Stderr);
        }
        finally
        {
            File.Delete(file);
        }
        Assert.Contains("…abcd", (await vault.RunAsync(A("keys", "list"))).Stdout);

        var empty = await vault.RunAsync(A("keys", "set", "openai"), stdin: "  \n");
        Assert.Equal(2, empty.ExitCode);
        Assert.Contains("stdin", empty.Stderr);

        // The key is never taken as an argument: an extra argument is a usage error.
        var asArgument = await vault.RunAsync(A("keys", "set", "openai", secret));
        Assert.Equal(2, asArgument.ExitCode);

        var remove = await vault.RunAsync(A("keys", "remove", "openai"));
        Succeeded(remove);
        var remaining = await vault.RunAsync(A("keys", "list", "--json"));
        Assert.Equal(["anthropic"], remaining.Json.AsArray().Select(k => k!["provider"]!.GetValue<string>()));
        var removeAgain = await vault.RunAsync(A("keys", "remove", "openai"));
        Assert.Equal(1, removeAgain.ExitCode);
    }

    [Fact]
    public async Task Policies_list_shows_the_owner_policies()
    {
        using var vault = await CliVault.StartAsync();
        Assert.Contains("no policies", (await vault.RunAsync(A("policies", "list"))).Stdout);
        (await vault.Owner.PostAsJsonAsync("/okap/admin/policies", new { name = "small spend", app_name = "Notes App", providers = new[] { "openai" },
            max_limits = new { monthly_spend = 3 } })).EnsureSuccessStatusCode();

        var list = await vault.RunAsync(A("policies", "list"));
        Succeeded(list);
        Assert.Contains("small spend", list.Stdout);
        Assert.Contains("Notes App", list.Stdout);
        Assert.Contains("$3.00/month", list.Stdout);
        var json = await vault.RunAsync(A("policies", "list", "--json"));
        Assert.Equal("small spend", json.Json[0]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Audit_follows_next_across_pages_up_to_the_limit()
    {
        using var vault = await CliVault.StartAsync();
        for (var i = 0; i < 5; i++) await vault.AuthorizeAsync("App " + i);
        // Pages of two, so every listing below has to follow `next`.
        var pages = new SmallPages(vault.Server.CreateHandler());

        var limited = await vault.RunAsync(A("audit", "--event", "request.created", "--limit", "3", "--json"), handler: pages);
        Succeeded(limited);
        Assert.Equal(3, limited.Json["items"]!.AsArray().Count);
        Assert.Equal(2, pages.Calls);
        Assert.All(limited.Json["items"]!.AsArray(), e => Assert.Equal("request.created", e!["event"]!.GetValue<string>()));

        pages.Calls = 0;
        var all = await vault.RunAsync(A("audit", "--event", "request.created"), handler: pages);
        Succeeded(all);
        Assert.True(pages.Calls >= 3, $"{pages.Calls} pages");
        for (var i = 0; i < 5; i++) Assert.Contains("App " + i, all.Stdout);
        Assert.Equal(6, all.Stdout.Trim().Split('\n').Length);     // header + five events

        var byApp = await vault.RunAsync(A("audit", "--app", "App 3", "--json"));
        Succeeded(byApp);
        Assert.All(byApp.Json["items"]!.AsArray(), e => Assert.Equal("App 3", e!["app_name"]!.GetValue<string>()));
        Assert.NotEmpty(byApp.Json["items"]!.AsArray());

        var requests = await vault.RunAsync(A("requests", "list", "--search", "app 2", "--json"));
        Succeeded(requests);
        Assert.Equal("App 2", Assert.Single(requests.Json["items"]!.AsArray())!["app_name"]!.GetValue<string>());

        var searched = await vault.RunAsync(A("audit", "--search", "aPP 4", "--json"));
        Succeeded(searched);
        Assert.NotEmpty(searched.Json["items"]!.AsArray());
        Assert.All(searched.Json["items"]!.AsArray(), e => Assert.Equal("App 4", e!["app_name"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("requests approve", "id")]
    [InlineData("requests list --status nope", "nope")]
    [InlineData("requests approve req_1 --monthly-spend lots", "lots")]
    [InlineData("requests approve req_1 --rpm 0", "--rpm")]
    [InlineData("requests approve req_1 --monthly-spend -1", "--monthly-spend")]
    [InlineData("requests approve req_1 --expires tomorrow", "--expires")]
    [InlineData("requests approve req_1 --models ,", "--models")]
    [InlineData("keys set openai --auth-kind password", "password")]
    [InlineData("audit --limit 0", "--limit")]
    [InlineData("tokens frobnicate", "frobnicate")]
    [InlineData("tokens narrow tok_1", "nothing to narrow")]
    [InlineData("tokens narrow tok_1 --daily-spend -2", "--daily-spend")]
    [InlineData("prices set openai gpt-4o --input 1", "--output")]
    [InlineData("prices set openai gpt-4o --input 1 --output -1", "--output")]
    [InlineData("usage --days many", "many")]
    [InlineData("usage --csv --json", "--csv")]
    [InlineData("audit --csv --json", "--csv")]
    [InlineData("policies add p --max-rpm 0", "--max-rpm")]
    [InlineData("policies add p --enabled maybe", "maybe")]
    [InlineData("policies edit pol_1", "nothing to change")]
    [InlineData("", "command")]
    public async Task Bad_input_exits_2_with_a_clear_message(string args, string mentioned)
    {
        using var vault = await CliVault.StartAsync();
        var run = await vault.RunAsync(args.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(mentioned, run.Stderr);
        Assert.Contains("error:", run.Stderr);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task Settings_are_checked_before_anything_is_sent()
    {
        using var vault = await CliVault.StartAsync();
        var noUrl = await vault.RunAsync(A("requests", "list"), environment: new() { [CliApp.AccessKeyVariable] = vault.AccessKey });
        Assert.Equal(2, noUrl.ExitCode);
        Assert.Contains("OKAP_VAULT_URL", noUrl.Stderr);

        var noKey = await vault.RunAsync(A("requests", "list"), environment: new() { [CliApp.VaultUrlVariable] = CliVault.Url });
        Assert.Equal(2, noKey.ExitCode);
        Assert.Contains("OKAP_ACCESS_KEY", noKey.Stderr);

        var plainHttp = await vault.RunAsync(A("requests", "list", "--vault", "http://vault.example.com"));
        Assert.Equal(2, plainHttp.ExitCode);
        Assert.Contains("refusing plain http", plainHttp.Stderr);
        Assert.DoesNotContain(vault.AccessKey, plainHttp.Stderr);

        var notAPat = await vault.RunAsync(A("requests", "list"), environment: new() { [CliApp.VaultUrlVariable] = CliVault.Url, [CliApp.AccessKeyVariable] = "hunter2-password" });
        Assert.Equal(2, notAPat.ExitCode);
        Assert.DoesNotContain("hunter2", notAPat.Stderr);

        // Loopback http is fine, and --key works (with a warning about the process list), never echoing the key.
        var viaArgs = await vault.RunAsync(A("requests", "list", "--vault", "http://127.0.0.1", "--key", vault.AccessKey), environment: new());
        Succeeded(viaArgs);
        Assert.Contains("process list", viaArgs.Stderr);
        Assert.DoesNotContain(vault.AccessKey, viaArgs.Stdout + viaArgs.Stderr);
    }

    [Fact]
    public async Task A_wrong_or_revoked_key_or_an_unreachable_vault_exits_3()
    {
        using var vault = await CliVault.StartAsync();
        const string wrong = "okap_pat_this-key-does-not-exist-0000000000";
        var run = await vault.RunAsync(A("requests", "list"), environment: new() { [CliApp.VaultUrlVariable] = CliVault.Url, [CliApp.AccessKeyVariable] = wrong });
        Assert.Equal(3, run.ExitCode);
        Assert.Contains("not authorised", run.Stderr);
        Assert.DoesNotContain(wrong, run.Stdout + run.Stderr);

        var keys = await vault.Owner.GetFromJsonAsync<JsonArray>("/okap/admin/access-keys");
        (await vault.Owner.DeleteAsync($"/okap/admin/access-keys/{keys![0]!["id"]}")).EnsureSuccessStatusCode();
        var revoked = await vault.RunAsync(A("tokens", "list"));
        Assert.Equal(3, revoked.ExitCode);
        Assert.DoesNotContain(vault.AccessKey, revoked.Stdout + revoked.Stderr);

        var unreachable = await vault.RunAsync(A("keys", "list"), handler: new Unreachable());
        Assert.Equal(3, unreachable.ExitCode);
        Assert.Contains("cannot reach the vault", unreachable.Stderr);
    }

    [Fact]
    public async Task Help_exits_0()
    {
        using var vault = await CliVault.StartAsync();
        var help = await vault.RunAsync(A("--help"));
        Succeeded(help);
        Assert.Contains("requests", help.Stdout);
        Assert.Contains("OKAP_ACCESS_KEY", help.Stdout);
        var approveHelp = await vault.RunAsync(A("requests", "approve", "--help"));
        Succeeded(approveHelp);
        Assert.Contains("--monthly-spend", approveHelp.Stdout);
        foreach (var command in new[] { "usage", "prices", "catalog", "access-keys", "audit" }) Assert.Contains(command, help.Stdout);
        var narrowHelp = await vault.RunAsync(A("tokens", "narrow", "--help"));
        Succeeded(narrowHelp);
        Assert.Contains("--tokens-per-request", narrowHelp.Stdout);
    }

    /// <summary>Rewrites every page_size to 2 and counts the audit pages fetched.</summary>
    private sealed class SmallPages(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public int Calls { get; set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            if (uri.AbsolutePath == "/okap/admin/audit")
            {
                Calls++;
                var query = string.Join('&', uri.Query.TrimStart('?').Split('&').Select(p => p.StartsWith("page_size=", StringComparison.Ordinal) ? "page_size=2" : p));
                request.RequestUri = new UriBuilder(uri) { Query = query }.Uri;
            }
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class Unreachable : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            throw new HttpRequestException("Connection refused (localhost:80)");
    }
}
