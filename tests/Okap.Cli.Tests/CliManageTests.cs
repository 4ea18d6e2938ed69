using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Okap.Cli.Tests;

/// <summary>The commands that cover the rest of the page: token narrowing, usage, CSV exports, prices, catalog, access keys, policies.</summary>
public sealed class CliManageTests
{
    private static string[] A(params string[] args) => args;

    private static void Succeeded(CliRun run) => Assert.True(run.ExitCode == 0, run.ToString());

    private static async Task<string> ActiveTokenAsync(CliVault vault, params string[] providers)
    {
        var id = await vault.AuthorizeAsync("Token App", providers);
        Succeeded(await vault.RunAsync(A("requests", "approve", id)));
        await vault.ClaimAsync(id);
        return (await vault.RunAsync(A("tokens", "list", "--json"))).Json["items"]![0]!["id"]!.GetValue<string>();
    }

    private static JsonNode Grant(JsonNode token, string provider) =>
        token["grants"]!.AsArray().Single(g => g!["provider"]!.GetValue<string>() == provider)!;

    [Fact]
    public async Task Tokens_narrow_narrows_the_chosen_provider_and_keeps_the_rest_of_the_token()
    {
        using var vault = await CliVault.StartAsync();
        var tokenId = await ActiveTokenAsync(vault, "openai", "anthropic");

        var ambiguous = await vault.RunAsync(A("tokens", "narrow", tokenId, "--rpm", "5"));
        Assert.Equal(2, ambiguous.ExitCode);
        Assert.Contains("openai, anthropic", ambiguous.Stderr);
        var unknown = await vault.RunAsync(A("tokens", "narrow", tokenId, "--provider", "mistral", "--rpm", "5"));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("mistral is not in this token", unknown.Stderr);

        var expires = DateTime.UtcNow.AddDays(10).ToString("yyyy-MM-dd");
        var narrow = await vault.RunAsync(A("tokens", "narrow", tokenId, "--provider", "openai", "--models", "gpt-4", "--capabilities", "chat",
            "--monthly-spend", "4", "--rpm", "30", "--expires", expires));
        Succeeded(narrow);
        Assert.Contains("Narrowed " + tokenId, narrow.Stdout);
        Assert.Contains("$4.00/month", narrow.Stdout);

        var token = (await vault.RunAsync(A("tokens", "list", "--json"))).Json["items"]![0]!;
        var openai = Grant(token, "openai");
        Assert.Equal(["gpt-4"], openai["models"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(["chat"], openai["capabilities"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal(4m, openai["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(1m, openai["limits"]!["daily_spend"]!.GetValue<decimal>());       // left out: kept
        Assert.Equal(30, openai["limits"]!["requests_per_minute"]!.GetValue<int>());
        Assert.Equal(1000, openai["limits"]!["requests_per_day"]!.GetValue<int>());
        Assert.StartsWith(expires, openai["expires_at"]!.GetValue<string>());
        // The other provider is still on the token, unchanged.
        var anthropic = Grant(token, "anthropic");
        Assert.Equal(10m, anthropic["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(["chat", "embeddings"], anthropic["capabilities"]!.AsArray().Select(m => m!.GetValue<string>()));

        var json = await vault.RunAsync(A("tokens", "narrow", tokenId, "--provider", "anthropic", "--daily-spend", "0.5", "--json"));
        Succeeded(json);
        Assert.Equal(0.5m, Grant(json.Json, "anthropic")["limits"]!["daily_spend"]!.GetValue<decimal>());
        Assert.Equal(4m, Grant(json.Json, "openai")["limits"]!["monthly_spend"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Tokens_narrow_that_would_widen_exits_1_with_the_vault_message_and_changes_nothing()
    {
        using var vault = await CliVault.StartAsync();
        var tokenId = await ActiveTokenAsync(vault);

        var widen = await vault.RunAsync(A("tokens", "narrow", tokenId, "--monthly-spend", "50"));
        Assert.Equal(1, widen.ExitCode);
        Assert.StartsWith("error: ", widen.Stderr);
        Assert.Contains("monthly_spend", widen.Stderr);
        Assert.Contains("(field: grants[0].", widen.Stderr);
        Assert.Empty(widen.Stdout);

        var moreModels = await vault.RunAsync(A("tokens", "narrow", tokenId, "--models", "gpt-4,o3"));
        Assert.Equal(1, moreModels.ExitCode);
        Assert.Contains("(field: grants[0].models", moreModels.Stderr);

        var token = (await vault.RunAsync(A("tokens", "list", "--json"))).Json["items"]![0]!;
        Assert.Equal(10m, Grant(token, "openai")["limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(2, Grant(token, "openai")["models"]!.AsArray().Count);

        var missing = await vault.RunAsync(A("tokens", "narrow", "tok_does_not_exist", "--rpm", "1"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("not found", missing.Stderr);
    }

    [Fact]
    public async Task Usage_prints_the_days_asked_and_streams_the_vault_csv()
    {
        using var vault = await CliVault.StartAsync();
        await ActiveTokenAsync(vault);

        var table = await vault.RunAsync(A("usage", "--days", "7"));
        Succeeded(table);
        Assert.Contains("no usage", table.Stdout);
        var json = await vault.RunAsync(A("usage", "--json"));
        Succeeded(json);
        Assert.Empty(json.Json["rows"]!.AsArray());

        var csv = await vault.RunAsync(A("usage", "--days", "7", "--csv"));
        Succeeded(csv);
        Assert.Equal("day,token_id,app_name,provider,requests,input_tokens,output_tokens,cost_usd", csv.Stdout.Split("\r\n")[0]);

        var tooMany = await vault.RunAsync(A("usage", "--days", "401"));
        Assert.Equal(1, tooMany.ExitCode);
        Assert.Contains("days is 1 to 400", tooMany.Stderr);
        Assert.Contains("(field: days)", tooMany.Stderr);
        var tooManyCsv = await vault.RunAsync(A("usage", "--days", "0", "--csv"));
        Assert.Equal(1, tooManyCsv.ExitCode);
        Assert.Empty(tooManyCsv.Stdout);
    }

    [Fact]
    public async Task Audit_csv_streams_every_matching_event_with_the_filters()
    {
        using var vault = await CliVault.StartAsync();
        await vault.AuthorizeAsync("Notes App");
        await vault.AuthorizeAsync("Mail App");
        await vault.AuthorizeAsync("Mail App");

        var csv = await vault.RunAsync(A("audit", "--csv", "--app", "Mail App", "--event", "request.created"));
        Succeeded(csv);
        var lines = csv.Stdout.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("at,event,app_name,client_address,request_id,token_id,detail,id,actor", lines[0]);
        Assert.Equal(2, lines.Length - 1);
        Assert.All(lines.Skip(1), l => { Assert.Contains(",request.created,Mail App,", l); Assert.EndsWith(",app", l); });
        Assert.DoesNotContain("Notes App", csv.Stdout);
    }

    [Fact]
    public async Task Prices_set_list_and_remove_including_model_names_with_slashes()
    {
        using var vault = await CliVault.StartAsync();
        Assert.Contains("no prices", (await vault.RunAsync(A("prices", "list"))).Stdout);

        var set = await vault.RunAsync(A("prices", "set", "openai", "gpt-4o", "--input", "2.5", "--output", "10", "--cached-input", "1.25", "--max-output-tokens", "16384"));
        Succeeded(set);
        Assert.Contains("$2.50 input", set.Stdout);
        var slashed = await vault.RunAsync(A("prices", "set", "openai", "meta-llama/Llama-3.3-70B", "--input", "0.6", "--output", "0.6"));
        Succeeded(slashed);
        Assert.Contains("openai/meta-llama/Llama-3.3-70B", slashed.Stdout);

        var list = await vault.RunAsync(A("prices", "list"));
        Succeeded(list);
        Assert.Contains("meta-llama/Llama-3.3-70B", list.Stdout);
        Assert.Contains("16384", list.Stdout);
        var json = await vault.RunAsync(A("prices", "list", "--json"));
        var gpt = json.Json.AsArray().Single(p => p!["model"]!.GetValue<string>() == "gpt-4o")!;
        Assert.Equal(2.5m, gpt["input_per_million"]!.GetValue<decimal>());
        Assert.Equal(1.25m, gpt["cached_input_per_million"]!.GetValue<decimal>());
        Assert.Equal(10m, gpt["output_per_million"]!.GetValue<decimal>());
        Assert.Equal(16384, gpt["max_output_tokens"]!.GetValue<int>());

        var remove = await vault.RunAsync(A("prices", "remove", "openai", "meta-llama/Llama-3.3-70B"));
        Succeeded(remove);
        var after = await vault.RunAsync(A("prices", "list", "--json"));
        Assert.Equal(["gpt-4o"], after.Json.AsArray().Select(p => p!["model"]!.GetValue<string>()));
        var again = await vault.RunAsync(A("prices", "remove", "openai", "meta-llama/Llama-3.3-70B"));
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("not found", again.Stderr);
    }

    [Fact]
    public async Task Catalog_lists_the_built_in_prices_and_searches_them()
    {
        using var vault = await CliVault.StartAsync();
        var all = await vault.RunAsync(A("catalog", "--json"));
        Succeeded(all);
        var count = all.Json["models"]!.AsArray().Count;
        Assert.True(count > 1, all.ToString());
        var model = all.Json["models"]![0]!["model"]!.GetValue<string>();

        var search = await vault.RunAsync(A("catalog", "--search", model.ToUpperInvariant(), "--json"));
        Succeeded(search);
        var found = search.Json["models"]!.AsArray();
        Assert.InRange(found.Count, 1, count - 1);
        Assert.All(found, m => Assert.Contains(model, m!["provider"] + "/" + m["model"], StringComparison.OrdinalIgnoreCase));

        var table = await vault.RunAsync(A("catalog", "--search", model));
        Succeeded(table);
        Assert.Contains("per million tokens", table.Stdout);
        Assert.Contains(model, table.Stdout);
        Assert.Contains("no models", (await vault.RunAsync(A("catalog", "--search", "no-such-model-anywhere"))).Stdout);
    }

    [Fact]
    public async Task Access_keys_list_shows_scopes_and_a_command_beyond_the_key_scope_names_the_scope_it_needs()
    {
        using var vault = await CliVault.StartAsync();
        var made = await vault.Owner.PostAsJsonAsync("/okap/admin/access-keys", new { name = "ci reader", scopes = new[] { "read" }, expires_in_days = 30 });
        var secret = (await made.Content.ReadFromJsonAsync<JsonObject>())!["secret"]!.GetValue<string>();
        var asReader = new Dictionary<string, string?> { [CliApp.VaultUrlVariable] = CliVault.Url, [CliApp.AccessKeyVariable] = secret };

        var list = await vault.RunAsync(A("access-keys", "list"), environment: asReader);
        Succeeded(list);
        Assert.Contains("ci reader", list.Stdout);
        Assert.Contains("read,approve,keys", list.Stdout);
        Assert.DoesNotContain(secret, list.Stdout);
        var created = (await vault.RunAsync(A("access-keys", "list", "--json"))).Json.AsArray().Single(k => k!["name"]!.GetValue<string>() == "ci reader")!;
        Assert.Equal(["read"], created["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.InRange(created["expires_at"]!.GetValue<DateTimeOffset>(), DateTimeOffset.UtcNow.AddDays(29), DateTimeOffset.UtcNow.AddDays(31));

        var id = await vault.AuthorizeAsync();
        var approve = await vault.RunAsync(A("requests", "approve", id), environment: asReader);
        Assert.Equal(3, approve.ExitCode);
        Assert.Contains("'approve' scope", approve.Stderr);
        Assert.DoesNotContain(secret, approve.Stdout + approve.Stderr);
        // Keys are made on the page with a browser session, not by a key.
        Assert.NotEqual(0, (await vault.RunAsync(A("access-keys", "create", "more"))).ExitCode);
    }

    [Fact]
    public async Task Policies_add_edit_and_remove_keep_what_an_edit_leaves_out()
    {
        using var vault = await CliVault.StartAsync();
        var add = await vault.RunAsync(A("policies", "add", "small spend", "--app", "Notes App", "--providers", "openai", "--models", "gpt-4o-mini",
            "--max-monthly-spend", "3", "--max-days", "30", "--json"));
        Succeeded(add);
        var id = add.Json["id"]!.GetValue<string>();
        Assert.True(add.Json["enabled"]!.GetValue<bool>());
        Assert.Equal(30, add.Json["max_days"]!.GetValue<int>());

        var edit = await vault.RunAsync(A("policies", "edit", id, "--max-rpm", "10", "--enabled", "false", "--capabilities", "chat"));
        Succeeded(edit);
        Assert.Contains("Saved policy " + id, edit.Stdout);
        var policy = (await vault.RunAsync(A("policies", "list", "--json"))).Json.AsArray().Single()!;
        Assert.Equal("small spend", policy["name"]!.GetValue<string>());
        Assert.Equal("Notes App", policy["app_name"]!.GetValue<string>());
        Assert.Equal(["openai"], policy["providers"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal(["gpt-4o-mini"], policy["models"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal(["chat"], policy["capabilities"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Equal(3m, policy["max_limits"]!["monthly_spend"]!.GetValue<decimal>());
        Assert.Equal(10, policy["max_limits"]!["requests_per_minute"]!.GetValue<int>());
        Assert.Equal(30, policy["max_days"]!.GetValue<int>());
        Assert.False(policy["enabled"]!.GetValue<bool>());

        Succeeded(await vault.RunAsync(A("policies", "edit", id, "--app", "*", "--models", "*", "--name", "any app")));
        var list = await vault.RunAsync(A("policies", "list"));
        Assert.Contains("any app", list.Stdout);
        Assert.DoesNotContain("Notes App", list.Stdout);

        var refused = await vault.RunAsync(A("policies", "edit", id, "--capabilities", "teleport"));
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("error: ", refused.Stderr);
        Assert.Equal(1, (await vault.RunAsync(A("policies", "edit", "pol_does_not_exist", "--max-days", "2"))).ExitCode);

        var remove = await vault.RunAsync(A("policies", "remove", id));
        Succeeded(remove);
        Assert.Contains("no policies", (await vault.RunAsync(A("policies", "list"))).Stdout);
        Assert.Equal(1, (await vault.RunAsync(A("policies", "remove", id))).ExitCode);
    }
}
