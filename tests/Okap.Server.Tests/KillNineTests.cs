using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Okap.Core;
using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Storage.Azure;
using Okap.Storage.Azure.Tables;
using Okap.Storage.Sqlite;
using Okap.Testing;
using Xunit.Abstractions;

namespace Okap.Server.Tests;

/// <summary>
/// Three separate processes of the built server (<c>dotnet Okap.Server.dll</c>) on one store — one SQLite file, or one
/// set of Azurite tables in the OKAP_TEST_STORE=azure pass — serving one token under concurrent load, and one of them
/// killed with SIGKILL mid-load: no shutdown code runs, its lease is never given back, its last usage never written.
/// </summary>
public sealed partial class KillNineTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string CallBody = """{"model":"gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";
    private const long CostMicros = 40 * 15 / 100 + 50 * 60 / 100; // gpt-4o-mini: $0.15 / $0.60 per million tokens
    private static readonly long WorstMicros = (long)Math.Ceiling(CallBody.Length * 0.15 + 50 * 0.60);
    private const long Cap = 3_600; // µ$: 100 calls at 36 µ$, so the spend cap and requests_per_day bind together
    private const int PerDay = 100;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    private readonly FakeProvider _fake = new();
    private readonly string _data = Path.Combine(Path.GetTempPath(), "okap-kill9-" + Guid.NewGuid().ToString("N"));
    private readonly string _tablePrefix = "k" + Guid.NewGuid().ToString("N")[..12];
    private readonly List<ServerProcess> _servers = [];
    private AzuriteProcess? _azurite;
    private IVaultStores? _stores;

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        if (VaultFactory.OnAzure) _azurite = await AzuriteProcess.StartAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            output.WriteLine($"--- {server.Url}\n{server.Output}");
            await server.DisposeAsync();
        }
        (_stores as IDisposable)?.Dispose();
        if (_azurite is not null) await _azurite.DisposeAsync();
        await _fake.DisposeAsync();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private Dictionary<string, string> Environment(int n)
    {
        var env = new Dictionary<string, string>
        {
            ["Okap__Auth__AllowRegistration"] = "true",
            ["Okap__DecisionWait"] = "00:00:00",
            ["Okap__Http__PublicRequestsPerMinute"] = "100000",
            ["Okap__Proxy__Providers__openai__BaseUrl"] = _fake.Url + "/openai/v1",
            ["Okap__Proxy__FlushInterval"] = "00:00:00.250",
            ["Okap__Proxy__LeaseDuration"] = Lease.ToString(),
            ["Okap__Proxy__StoreTimeout"] = "00:00:05",
            ["Okap__Proxy__SpoolDirectory"] = Path.Combine(_data, "spool-" + n),
            ["Logging__LogLevel__Okap.Proxy.UsageFlushService"] = "Debug",
        };
        if (_azurite is not null)
        {
            env["Okap__Store"] = "Azure";
            env["Okap__Azure__ConnectionString"] = _azurite.ConnectionString;
            env["Okap__Azure__TablePrefix"] = _tablePrefix;
            env["Okap__Azure__SecretStore"] = "DataProtection";
            env["Okap__Azure__TableMaxRetries"] = "1";
        }
        else
        {
            env["Okap__Store"] = "Sqlite";
            env["Okap__Sqlite__DataDirectory"] = Path.Combine(_data, "db");
        }
        return env;
    }

    private async Task<ServerProcess> StartAsync(int n)
    {
        var server = await ServerProcess.StartAsync(Path.Combine(AppContext.BaseDirectory, "Okap.Server.dll"), Environment(n), TimeSpan.FromSeconds(90));
        _servers.Add(server);
        return server;
    }

    /// <summary>The test's own view of the same store, to read what the processes wrote.</summary>
    private IVaultStores Store() => _stores ??= _azurite is not null
        ? AzureTableVaultStores.Create(new AzureStorageOptions { ConnectionString = _azurite.ConnectionString, TablePrefix = _tablePrefix })
        : new SqliteVaultStores(new SqliteStoreOptions { DataDirectory = Path.Combine(_data, "db") });

    private sealed record Call(int Instance, HttpStatusCode? Status);

    private static HttpClient Client(ServerProcess server) => new() { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };

    /// <summary><paramref name="calls"/> chat calls, <paramref name="parallel"/> at a time, round-robin over <paramref name="targets"/>; null status: no answer.</summary>
    private static async Task<List<Call>> LoadAsync(IReadOnlyList<(int Index, HttpClient Client)> targets, string token, int calls, int parallel, Action<int, Call>? afterEach = null)
    {
        var results = new ConcurrentQueue<Call>();
        var done = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, calls), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (i, _) =>
        {
            var (index, client) = targets[i % targets.Count];
            HttpStatusCode? status;
            try
            {
                using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions") { Content = Bodies.Raw(CallBody) };
                call.Headers.Authorization = new("Bearer", token);
                call.Headers.Add("x-fake-usage", "40,50");
                using var response = await client.SendAsync(call);
                await response.Content.ReadAsByteArrayAsync();
                status = response.StatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                status = null;
            }
            var answered = new Call(index, status);
            results.Enqueue(answered);
            afterEach?.Invoke(Interlocked.Increment(ref done), answered);
        });
        return [.. results];
    }

    private async Task<JsonNode> LeaseAsync(string ownerId, string grantKey) =>
        JsonNode.Parse((await Store().Usage.ReadLeaseAsync(ownerId, grantKey, default))!.Json)!;

    private static long Long(JsonNode? node, string name) => node?[name]?.GetValue<long>() ?? 0;

    /// <summary>For every limit: what the store counts as spent plus what every holder holds stays within it.</summary>
    private static void AssertWithinLimits(JsonNode doc)
    {
        var holders = doc["holders"]?.AsObject().Select(h => h.Value).ToList() ?? [];
        Assert.True(Long(doc, "daySpent") + holders.Sum(h => Long(h, "micros")) <= Cap, doc.ToJsonString());
        Assert.True(Long(doc, "dayRequests") + holders.Sum(h => Long(h, "requests")) <= PerDay, doc.ToJsonString());
    }

    [Fact]
    public async Task A_server_process_killed_mid_load_loses_at_most_its_unflushed_usage_and_its_lease_counts_as_spent()
    {
        // The first process creates the schema and the key ring alone; then the other two join.
        var first = await StartAsync(0);
        var others = await Task.WhenAll(StartAsync(1), StartAsync(2));
        ServerProcess[] servers = [first, .. others];
        var clients = servers.Select(Client).ToArray();

        var admin = new HttpClient(new HttpClientHandler { UseCookies = true }) { BaseAddress = new Uri(first.Url) };
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/okap/account/setup", new { user_name = "kill9owner", password = VaultUnderTestPassword })).StatusCode);
        await Okap.Testing.Vaults.VaultUnderTest.ArmCsrfAsync(admin);
        (await admin.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-kill-nine-master-key-0001" })).EnsureSuccessStatusCode();
        (await admin.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var issued = await (await clients[0].PostAsJsonAsync("/okap/request", Bodies.Sdk(limits: new { daily_spend = Cap / 1_000_000.0, requests_per_day = PerDay }))).JsonAsync();
        var token = issued["token"]!["token"]!.GetValue<string>();
        var record = (await Store().Tokens.FindByHashAsync(Secrets.Hash(token), default))!;
        var grantKey = UsageKeys.Grant(record.Id, "openai");

        // Load over all three; a third of the way in, the third process is killed.
        var victim = servers[2];
        var victimHolder = HolderRegex().Match(victim.Output) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("no holder id logged:\n" + victim.Output);
        var kill = new TaskCompletionSource();
        var victimOk = 0;
        var killed = 0;
        var before = LoadAsync([.. clients.Select((c, i) => (i, c))], token, calls: 60, parallel: 12, afterEach: (done, call) =>
        {
            // Once the victim has served a few calls (so it holds a lease), about a third of the way in; on a machine
            // so loaded that its first calls are slow, at two thirds at the latest.
            var served = call.Instance == 2 && call.Status == HttpStatusCode.OK ? Interlocked.Increment(ref victimOk) : Volatile.Read(ref victimOk);
            if ((done < 20 || served < 3) && done < 40) return;
            if (Interlocked.Exchange(ref killed, 1) == 1) return;
            victim.Kill();
            kill.SetResult();
        });
        await kill.Task;
        // Nothing of the victim runs any more: its entry in the lease document is final.
        var atKill = await LeaseAsync(record.OwnerId, grantKey);
        var deadLease = atKill["holders"]?[victimHolder];
        Assert.NotNull(deadLease);
        var deadMicros = Long(deadLease, "micros");
        var deadRequests = Long(deadLease, "requests");
        AssertWithinLimits(atKill);
        var phase1 = await before;

        (int, HttpClient)[] survivors = [(0, clients[0]), (1, clients[1])];
        var phase2 = await LoadAsync(survivors, token, calls: 30, parallel: 8);
        AssertWithinLimits(await LeaseAsync(record.OwnerId, grantKey));

        // The dead lease expires and is reclaimed by the next survivor's lease write (reclaim is lazy: a call drives one):
        // what it held is now counted as spent.
        var phase3 = new List<Call>();
        JsonNode reclaimed;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((reclaimed = await LeaseAsync(record.OwnerId, grantKey))["holders"]?[victimHolder] is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the dead instance's lease was never reclaimed: " + reclaimed.ToJsonString());
            await Task.Delay(500);
            phase3.AddRange(await LoadAsync(survivors, token, calls: 1, parallel: 1));
        }
        Assert.True(Long(reclaimed, "daySpent") >= Long(atKill, "daySpent") + deadMicros, $"dead lease of {deadMicros} µ$ not counted as spent: {reclaimed.ToJsonString()}");
        Assert.True(Long(reclaimed, "dayRequests") >= Long(atKill, "dayRequests") + deadRequests, $"dead lease of {deadRequests} requests not counted: {reclaimed.ToJsonString()}");
        AssertWithinLimits(reclaimed);

        // The survivors go on serving what is left, up to the limits.
        var phase4 = await LoadAsync(survivors, token, calls: 100, parallel: 8);
        foreach (var server in servers[..2]) await server.StopAsync(TimeSpan.FromSeconds(30)); // clean stop: flush, give leases back

        List<Call> all = [.. phase1, .. phase2, .. phase3, .. phase4];
        var ok = all.Count(c => c.Status == HttpStatusCode.OK);
        var forwarded = _fake.Seen.Count(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal));
        var day = UsageKeys.Day(DateTimeOffset.UtcNow);
        var settled = (await Store().Usage.GetAsync(record.OwnerId, grantKey, [day], default)).SingleOrDefault()
                      ?? new UsageCounter(record.OwnerId, grantKey, day, 0, 0, 0, 0);
        var final = await LeaseAsync(record.OwnerId, grantKey);
                var written = WrittenRegex().Matches(victim.Output).Where(w => w.Groups[1].Value == victimHolder).ToList();
        var victimWritten = written.Sum(w => long.Parse(w.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        var victimWrittenCost = written.Sum(w => long.Parse(w.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
        var survivorsOk = all.Count(c => c.Instance != 2 && c.Status == HttpStatusCode.OK);
        // What the killed process served: every forwarded call the survivors did not answer (a call cut by the kill included).
        var victimServed = forwarded - survivorsOk;
        var lost = forwarded - settled.Requests;
        output.WriteLine($"{ok} admitted, {forwarded} forwarded ({victimServed} by the killed process, which wrote {victimWritten}), settled {settled.Requests} calls / {settled.CostMicros} µ$; " +
                         $"dead lease {deadMicros} µ$ / {deadRequests} requests; lost {lost} calls; final lease {final.ToJsonString()}");

        // Only the killed process's own calls may go unanswered; every other answer is a 200 or a limit's 429.
        // A survivor may answer 503 when the shared SQLite file or Azurite does not answer within StoreTimeout on a busy
        // machine (fail closed: not served, not counted); anything else but 200/429 is a bug.
        var odd = all.Where(c => c.Status is not (HttpStatusCode.OK or HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) && !(c.Instance == 2 && c.Status is null)).ToList();
        output.WriteLine($"{all.Count(c => c.Status == HttpStatusCode.ServiceUnavailable)} answered 503");
        Assert.True(odd.Count == 0, "answers other than 200/429/503: " + string.Join(", ", odd.Select(c => $"instance {c.Instance}: {(c.Status is { } s ? (int)s : 0)}")));
        Assert.Contains(phase4, c => c.Status == HttpStatusCode.TooManyRequests); // the limits were reached
        // The limits hold for what the provider really served, not only for what was written down.
        Assert.InRange(ok, 1, PerDay);
        Assert.InRange(forwarded, ok, PerDay);
        Assert.True(settled.CostMicros <= Cap + WorstMicros, $"settled {settled.CostMicros} µ$ passed the {Cap} µ$ cap");
        Assert.True(forwarded * CostMicros <= Cap + WorstMicros, $"{forwarded} calls served upstream cost {forwarded * CostMicros} µ$, past the {Cap} µ$ cap");
        // Stricter, never looser: the store counts at least every call the provider served (the dead lease as spent).
        Assert.True(Long(final, "daySpent") >= forwarded * CostMicros, final.ToJsonString());
        Assert.True(Long(final, "dayRequests") >= forwarded, final.ToJsonString());
        Assert.True(Long(final, "daySpent") <= Cap, final.ToJsonString());
        Assert.Null(final["holders"]?[victimHolder]);
        // The survivors used what was left: nothing but the dead lease stayed unspent.
        Assert.True(Long(final, "daySpent") > Cap - 3 * WorstMicros || Long(final, "dayRequests") >= PerDay, final.ToJsonString());
        // Usage: nothing counted twice or never served; the survivors lost nothing; the killed process lost at most
        // what it had served and not yet written (its log says what it wrote).
        // (A call is counted when it is admitted and costed when it ends, so the killed process may have written the
        // count of a call whose cost it never wrote.)
        Assert.True(settled.Requests >= survivorsOk + victimWritten, $"settled {settled.Requests} < {survivorsOk} by the survivors + {victimWritten} written by the killed process");
        Assert.True(settled.CostMicros >= (survivorsOk * CostMicros) + victimWrittenCost, $"settled {settled.CostMicros} µ$ < what the survivors served + {victimWrittenCost} µ$ written by the killed process");
        Assert.InRange(lost, 0, victimServed - victimWritten);
        Assert.InRange(forwarded * CostMicros - settled.CostMicros, 0, (victimServed * CostMicros) - victimWrittenCost);
    }

    private const string VaultUnderTestPassword = Okap.Testing.Vaults.VaultUnderTest.Password;

    [GeneratedRegex(@"budget lease holder (\S+) started")]
    private static partial Regex HolderRegex();

    [GeneratedRegex(@"Wrote usage batch \d+ of writer (\S+): (\d+) calls, (\d+) micro-USD")]
    private static partial Regex WrittenRegex();
}
