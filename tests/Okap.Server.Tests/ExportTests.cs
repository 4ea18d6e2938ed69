using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Okap.Testing;

namespace Okap.Server.Tests;

/// <summary>Usage and audit as CSV files an owner can open in a spreadsheet, safely, with only their own rows.</summary>
public sealed class ExportTests : IAsyncLifetime
{
    private const string HostileApp = "=HYPERLINK(\"https://evil.example\",\"click\"), \"quoted\"";
    private readonly VaultFactory _vault = new();
    private readonly FakeProvider _fake = new();

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _vault.Settings["Okap:Addressing:BaseDomain"] = "vault.test";
        _vault.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        _vault.Settings["Okap:Proxy:FlushInterval"] = "00:00:00.200";
    }

    public async Task DisposeAsync()
    {
        _vault.Dispose();
        await _fake.DisposeAsync();
    }

    private async Task<(HttpClient Owner, string Token)> OwnerWithTokenAsync(string user, string app)
    {
        var host = user + ".vault.test";
        var owner = await _vault.SignUpAsync(user, host);
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-export-master-0001" })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var granted = await (await _vault.ClientFor(host).PostAsJsonAsync("/okap/request", Bodies.Sdk(app: app))).JsonAsync();
        return (owner, granted["token"]!["token"]!.GetValue<string>());
    }

    private async Task ChatAsync(string token)
    {
        using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "hi" } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "100,50");
        using var response = await _vault.CreateClient().SendAsync(call);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Audit_csv_holds_every_matching_entry_and_app_text_cannot_become_a_formula()
    {
        var (alice, _) = await OwnerWithTokenAsync("alice", HostileApp);
        var (bob, _) = await OwnerWithTokenAsync("bob", "Bobs App");

        using var response = await alice.GetAsync("/okap/admin/audit?format=csv");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition!.DispositionType);
        Assert.Matches(@"^okap-audit-\d{4}-\d{2}-\d{2}\.csv$", response.Content.Headers.ContentDisposition.FileNameStar);
        var rows = Csv.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(["at", "event", "app_name", "client_address", "request_id", "token_id", "detail", "id", "actor"], rows[0]);

        // The same entries as the JSON listing, page for page.
        var listed = (await alice.GetFromJsonAsync<JsonObject>("/okap/admin/audit?page_size=200"))!["items"]!.AsArray();
        Assert.Equal(listed.Select(e => e!["id"]!.GetValue<string>()), rows.Skip(1).Select(r => r[7]));
        var created = rows.Single(r => r[1] == "request.created");
        Assert.Equal("'" + HostileApp, created[2]);
        Assert.DoesNotContain(rows.Skip(1), r => r.Any(cell => cell.Length > 0 && "=+-@".Contains(cell[0])));
        Assert.DoesNotContain(rows, r => r.Contains("Bobs App"));

        // Filters apply to the export as to the listing.
        var filtered = Csv.Parse(await alice.GetStringAsync("/okap/admin/audit?format=csv&event=key.set"));
        Assert.Equal(2, filtered.Count);
        Assert.Equal("key.set", filtered[1][1]);
        Assert.Contains("Bobs App", Csv.Parse(await bob.GetStringAsync("/okap/admin/audit?format=csv")).Select(r => r[2]));
    }

    [Fact]
    public async Task Usage_csv_has_a_row_per_day_token_and_provider_with_the_app_name()
    {
        var (alice, token) = await OwnerWithTokenAsync("alice", "Spreadsheet App");
        for (var i = 0; i < 3; i++) await ChatAsync(token);

        // Usage reaches the store at the flushes (every 200 ms here); the three calls may land in more than one.
        JsonArray rowsJson = [];
        for (var i = 0; i < 100 && !(rowsJson.Count == 1 && rowsJson[0]!["requests"]!.GetValue<long>() == 3); i++)
        {
            await Task.Delay(100);
            rowsJson = (await alice.GetFromJsonAsync<JsonObject>("/okap/admin/usage?days=7"))!["rows"]!.AsArray();
        }
        var json = Assert.Single(rowsJson)!;
        Assert.Equal(3, json["requests"]!.GetValue<long>());

        using var response = await alice.GetAsync("/okap/admin/usage?days=7&format=csv");
        Assert.Equal("text/csv", response.Content.Headers.ContentType!.MediaType);
        var rows = Csv.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(["day", "token_id", "app_name", "provider", "requests", "input_tokens", "output_tokens", "cost_usd"], rows[0]);
        var row = Assert.Single(rows.Skip(1));
        Assert.Equal(json["token_id"]!.GetValue<string>(), row[1]);
        Assert.Equal(["Spreadsheet App", "openai", "3", "300", "150"], row[2..7]);
        Assert.Equal(json["cost_usd"]!.GetValue<decimal>(), decimal.Parse(row[7], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd"), row[0]);
    }

    [Theory]
    [InlineData("/okap/admin/audit?format=xml")]
    [InlineData("/okap/admin/usage?format=CSV")]
    public async Task An_unknown_format_is_a_clear_400(string path)
    {
        var alice = await _vault.SignUpAsync("alice", "alice.vault.test");
        using var response = await alice.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("format", (await response.JsonAsync())["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Exports_need_the_owners_session()
    {
        await _vault.SignUpAsync("alice", "alice.vault.test");
        using var anonymous = await _vault.ClientFor("alice.vault.test").GetAsync("/okap/admin/audit?format=csv");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }
}

/// <summary>An RFC 4180 reader, strict enough to catch a writer that quotes wrongly.</summary>
internal static class Csv
{
    public static List<string[]> Parse(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '"' && cell.Length == 0)
            {
                i++;
                while (true)
                {
                    Assert.True(i < text.Length, "unterminated quoted cell");
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    cell.Append(text[i++]);
                }
                Assert.True(i == text.Length || text[i] is ',' or '\r', $"text after a closing quote at {i}");
                continue;
            }
            if (c == ',') { row.Add(cell.ToString()); cell.Clear(); i++; continue; }
            if (c == '\r')
            {
                Assert.True(i + 1 < text.Length && text[i + 1] == '\n', "CR without LF");
                row.Add(cell.ToString()); cell.Clear();
                rows.Add([.. row]); row.Clear();
                i += 2;
                continue;
            }
            Assert.NotEqual('\n', c);
            cell.Append(c);
            i++;
        }
        Assert.True(row.Count == 0 && cell.Length == 0, "the last row has no CRLF");
        return rows;
    }
}
