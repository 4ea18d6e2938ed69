using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core;
using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Proxy;
using Okap.Testing;
using Xunit.Abstractions;

namespace Okap.Server.Tests;

/// <summary>
/// Three instances of the vault — each its own DI container, budget ledger, token cache and flush loop — on one
/// store (one SQLite file, or one set of Azurite tables in the OKAP_TEST_STORE=azure pass), serving one token under
/// concurrent load, as a scaled-out deployment does. The limits must hold for all of them together, and usage must be
/// counted exactly once whatever the store's replies do. They share one virtual clock that keeps pace with the wall
/// clock, and the tests move it ahead instead of sleeping through a lease or the token cache.
/// </summary>
public sealed class ThreeInstanceTests(ITestOutputHelper output) : IAsyncLifetime
{
    // One call: ~85 bytes of body (worst case ≤ 85 input tokens) and at most 50 output tokens; it really uses 40 in, 50 out.
    private const string CallBody = """{"model":"gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";
    private const long CostMicros = 40 * 15 / 100 + 50 * 60 / 100; // gpt-4o-mini: $0.15 / $0.60 per million tokens
    private static readonly long WorstMicros = (long)Math.Ceiling(CallBody.Length * 0.15 + 50 * 0.60);

    private readonly FakeProvider _fake = new();
    private readonly string _azuriteFolder = Path.Combine(Path.GetTempPath(), "okap-azurite-" + Guid.NewGuid().ToString("N"));
    private readonly List<VaultFactory> _instances = [];
    // Midday, so no day or month ends during a test.
    private readonly RunningClock _clock = new(new DateTimeOffset(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero));
    private AzuriteProcess? _azurite;

    public Task InitializeAsync() => _fake.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances) instance.Dispose();
        if (_azurite is not null) await _azurite.DisposeAsync();
        await _fake.DisposeAsync();
        await _clock.DisposeAsync();
        try { Directory.Delete(_azuriteFolder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private VaultFactory Start(VaultFactory? first = null, UsageStoreFaults? faults = null)
    {
        var instance = first is null
            ? new VaultFactory { OwnAzurite = _azurite, UsageFaults = faults, Time = _clock.Time }
            : new VaultFactory(first) { UsageFaults = faults, Time = _clock.Time };
        instance.Settings["Okap:Proxy:Providers:openai:BaseUrl"] = _fake.Url + "/openai/v1";
        instance.Settings["Okap:Proxy:FlushInterval"] = "00:00:00.250";
        instance.Settings["Okap:Proxy:LeaseDuration"] = "00:00:03";
        instance.Settings["Okap:Proxy:StoreTimeout"] = "00:00:02";
        instance.Settings["Okap:Proxy:SpoolDirectory"] = Path.Combine(instance.DataDirectory, "spool-" + Guid.NewGuid().ToString("N"));
        instance.Settings["Okap:Azure:TableMaxRetries"] = "0";
        instance.Settings["Okap:Azure:TableNetworkTimeout"] = "00:00:01";
        _ = instance.Server; // start it now, not on its first call
        _instances.Add(instance);
        return instance;
    }

    private async Task<VaultFactory[]> StartThreeAsync(UsageStoreFaults? faultsOfSecond = null, UsageStoreFaults? faultsOfThird = null)
    {
        var first = Start();
        var second = Start(first, faultsOfSecond);
        var third = Start(first, faultsOfThird);
        await Task.CompletedTask;
        return [first, second, third];
    }

    /// <summary>An owner with an OpenAI key and an auto-approving policy signs up on <paramref name="vault"/>; returns a token with <paramref name="limits"/>.</summary>
    private static async Task<Grantee> TokenAsync(VaultFactory vault, object limits)
    {
        var owner = await vault.SignUpAsync("alice" + Guid.NewGuid().ToString("N")[..6]);
        (await owner.PutAsJsonAsync("/okap/admin/keys/openai", new { key = "sk-multi-instance-master-key-01" })).EnsureSuccessStatusCode();
        (await owner.PostAsJsonAsync("/okap/admin/policies", new { name = "any", providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        var issued = await (await vault.ClientFor().PostAsJsonAsync("/okap/request", Bodies.Sdk(limits: limits))).JsonAsync();
        var token = issued["token"]!["token"]!.GetValue<string>();
        var record = await vault.Services.GetRequiredService<ITokenStore>().FindByHashAsync(Secrets.Hash(token), default);
        return new Grantee(token, record!.OwnerId, UsageKeys.Grant(record.Id, "openai"));
    }

    private sealed record Grantee(string Token, string OwnerId, string GrantKey);

    private static async Task<HttpStatusCode> ChatAsync(HttpClient client, string token)
    {
        using var call = new HttpRequestMessage(HttpMethod.Post, "/v1/openai/chat/completions") { Content = Bodies.Raw(CallBody) };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "40,50");
        using var response = await client.SendAsync(call);
        return response.StatusCode;
    }

    /// <summary>
    /// <paramref name="calls"/> calls, <paramref name="parallel"/> at a time, spread round-robin over the instances; the
    /// status of each, added to <paramref name="statuses"/> (when given) as it comes.
    /// </summary>
    private static async Task<ConcurrentBag<HttpStatusCode>> LoadAsync(IReadOnlyList<VaultFactory> instances, string token, int calls, int parallel = 12,
        ConcurrentBag<HttpStatusCode>? statuses = null)
    {
        var clients = instances.Select(i => i.CreateClient()).ToArray();
        statuses ??= [];
        await Parallel.ForEachAsync(Enumerable.Range(0, calls), new ParallelOptions { MaxDegreeOfParallelism = parallel },
            async (i, _) => statuses.Add(await ChatAsync(clients[i % clients.Length], token)));
        return statuses;
    }

    /// <summary>Every instance writes what it has; then the store's own day counter of the grant.</summary>
    private static async Task<UsageCounter> SettledAsync(IEnumerable<VaultFactory> live, Grantee grantee)
    {
        foreach (var instance in live) await instance.Services.GetRequiredService<UsageFlushService>().FlushAsync();
        var store = live.First().Services.GetRequiredService<IVaultStores>().Usage;
        var day = UsageKeys.Day(live.First().Services.GetRequiredService<TimeProvider>().GetUtcNow());
        var counters = await store.GetAsync(grantee.OwnerId, grantee.GrantKey, [day], default);
        return counters.SingleOrDefault() ?? new UsageCounter(grantee.OwnerId, grantee.GrantKey, day, 0, 0, 0, 0);
    }

    /// <summary>Chat calls the provider received (the key check when the owner saves a key is not one).</summary>
    private int Forwarded => _fake.Seen.Count(s => s.Path.EndsWith("/chat/completions", StringComparison.Ordinal));

    private static int Count(IEnumerable<HttpStatusCode> statuses, HttpStatusCode code) => statuses.Count(s => s == code);

    /// <summary>Waits (30 s at most) until <paramref name="done"/>: calls answered under load are a real event, not a time.</summary>
    private static async Task UntilAsync(Func<bool> done, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Three_instances_together_never_spend_past_the_daily_cap_and_every_admitted_call_is_counted_once()
    {
        var instances = await StartThreeAsync();
        var grantee = await TokenAsync(instances[0], new { daily_spend = 0.003 });
        const long cap = 3_000;

        var statuses = await LoadAsync(instances, grantee.Token, calls: 150);

        var ok = Count(statuses, HttpStatusCode.OK);
        foreach (var i in instances) foreach (var l in i.Logs.Lines.Where(l => l.StartsWith("Warn") || l.StartsWith("Error"))) output.WriteLine(l);
        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        var settled = await SettledAsync(instances, grantee);
        output.WriteLine($"{ok} admitted of 150, settled {settled.CostMicros} µ$ of a {cap} µ$ cap (one call costs {CostMicros}, reserves {WorstMicros})");
        Assert.True(settled.CostMicros <= cap + WorstMicros, $"settled {settled.CostMicros} µ$ passed the {cap} µ$ cap");
        Assert.Equal(ok, settled.Requests);
        Assert.Equal(ok * CostMicros, settled.CostMicros);
        Assert.Equal(ok, Forwarded);
        // Leases hand out half of what is left at a time: the instances together get close to the cap, not a third of it.
        Assert.True(settled.CostMicros >= cap / 2, $"only {settled.CostMicros} µ$ of {cap} µ$ was let through");
    }

    [Fact]
    public async Task Three_instances_together_admit_no_more_than_requests_per_minute_and_a_restart_does_not_reset_the_window()
    {
        var instances = await StartThreeAsync();
        var grantee = await TokenAsync(instances[0], new { monthly_spend = 10.0, requests_per_minute = 20 });

        var statuses = await LoadAsync(instances, grantee.Token, calls: 90);

        var ok = Count(statuses, HttpStatusCode.OK);
        output.WriteLine($"{ok} admitted of 90 at 20 per minute");
        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.InRange(ok, 1, 20);
        Assert.Equal(ok, Forwarded);

        // A fresh instance (a restart, a scale-out) sees the same window in the store.
        var fresh = Start(instances[0]);
        var more = await LoadAsync([fresh], grantee.Token, calls: 25, parallel: 4);
        var total = ok + Count(more, HttpStatusCode.OK);
        Assert.True(total <= 20, $"{total} calls admitted within one minute at 20 per minute");
    }

    [Fact]
    public async Task Three_instances_together_admit_no_more_than_requests_per_day()
    {
        var instances = await StartThreeAsync();
        var grantee = await TokenAsync(instances[0], new { monthly_spend = 10.0, requests_per_day = 30 });

        var statuses = await LoadAsync(instances, grantee.Token, calls: 90);

        var ok = Count(statuses, HttpStatusCode.OK);
        output.WriteLine($"{ok} admitted of 90 at 30 per day");
        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.InRange(ok, 15, 30);
        var settled = await SettledAsync(instances, grantee);
        Assert.Equal(ok, settled.Requests);
    }

    [Fact]
    public async Task A_usage_batch_whose_reply_is_lost_after_commit_is_counted_once()
    {
        var faults = new UsageStoreFaults();
        var instances = await StartThreeAsync(faultsOfSecond: faults);
        var grantee = await TokenAsync(instances[0], new { monthly_spend = 10.0 });

        faults.LoseNextBatchReply = true;
        var statuses = await LoadAsync(instances, grantee.Token, calls: 60);
        var settled = await SettledAsync(instances, grantee);

        Assert.Equal(60, Count(statuses, HttpStatusCode.OK));
        Assert.Equal(1, faults.LostReplies);
        Assert.Equal(60, settled.Requests);
        Assert.Equal(60 * CostMicros, settled.CostMicros);
    }

    [Fact]
    public async Task An_instance_that_dies_holding_a_lease_loses_at_most_that_lease_and_the_cap_still_holds()
    {
        var dying = new UsageStoreFaults();
        var instances = await StartThreeAsync(faultsOfThird: dying);
        var grantee = await TokenAsync(instances[0], new { daily_spend = 0.01 });
        const long cap = 10_000;

        var before = await LoadAsync(instances, grantee.Token, calls: 60);
        // The third instance dies: from now on it writes nothing — no report, no lease given back, no usage batch.
        dying.Dead = true;
        var store = instances[0].Services.GetRequiredService<IVaultStores>().Usage;
        var doc = JsonNode.Parse((await store.ReadLeaseAsync(grantee.OwnerId, grantee.GrantKey, default))!.Json)!;
        var holder = instances[2].Services.GetRequiredService<BudgetLedger>().HolderId;
        var heldByDead = doc["holders"]?[holder]?["micros"]?.GetValue<long>() ?? 0;
        await instances[2].DisposeAsync();
        // Its disk is gone too (a spool exists only if it died with usage not yet written).
        if (Directory.Exists(instances[2].Settings["Okap:Proxy:SpoolDirectory"]!)) Directory.Delete(instances[2].Settings["Okap:Proxy:SpoolDirectory"]!, recursive: true);
        var live = instances[..2];

        var after = await LoadAsync(live, grantee.Token, calls: 300);
        // Once the dead lease expires (3 s) it counts as spent; the survivors may not spend it.
        _clock.Time.Advance(TimeSpan.FromSeconds(3.2));
        var late = await LoadAsync(live, grantee.Token, calls: 60);

        IEnumerable<HttpStatusCode> all = [.. before, .. after, .. late];
        var ok = Count(all, HttpStatusCode.OK);
        var settled = await SettledAsync(live, grantee);
        var lost = ok * CostMicros - settled.CostMicros;
        output.WriteLine($"{ok} admitted; settled {settled.CostMicros} µ$ of a {cap} µ$ cap; the dead instance held {heldByDead} µ$ and took {lost} µ$ of usage with it");
        Assert.All(all, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.True(ok * CostMicros <= cap + WorstMicros, $"{ok} calls admitted cost {ok * CostMicros} µ$, past the {cap} µ$ cap");
        Assert.InRange(lost, 0, heldByDead);
        Assert.Equal(ok, Forwarded);
        // The store counted the dead lease as spent: what it says was spent and is held stays within the cap.
        var final = JsonNode.Parse((await store.ReadLeaseAsync(grantee.OwnerId, grantee.GrantKey, default))!.Json)!;
        Assert.Null(final["holders"]?[holder]);
        var held = final["holders"]?.AsObject().Sum(h => h.Value!["micros"]?.GetValue<long>() ?? 0) ?? 0;
        Assert.True((final["daySpent"]?.GetValue<long>() ?? 0) + held <= cap);
    }

    [AzureStoreFact]
    public async Task Storage_stopped_mid_load_answers_only_200_or_503_and_usage_is_exact_once_it_is_back()
    {
        _azurite = await AzuriteProcess.StartAsync(_azuriteFolder);
        var instances = await StartThreeAsync();
        var grantee = await TokenAsync(instances[0], new { monthly_spend = 10.0, requests_per_minute = 100_000 });

        var statuses = new ConcurrentBag<HttpStatusCode>();
        var load = LoadAsync(instances, grantee.Token, calls: 600, parallel: 6, statuses);
        await UntilAsync(() => statuses.Count >= 30 || load.IsCompleted, "no call was answered before the outage");
        await _azurite.StopAsync();
        // Past the token cache's 1 s: every instance has to ask the store, which is gone, while the load goes on.
        _clock.Time.Advance(TimeSpan.FromSeconds(1.5));
        var atStop = statuses.Count;
        await UntilAsync(() => statuses.Count >= atStop + 60 || load.IsCompleted, "no call was answered during the outage");
        Assert.False(load.IsCompleted, "the load ended before the outage was over");
        await _azurite.StartAsync();
        await load;
        // Until every instance has recovered, each call is still only answered 200 (a checked token, within a lease
        // already held) or 503.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var probe = await LoadAsync(instances, grantee.Token, calls: 3, parallel: 3);
            foreach (var s in probe) statuses.Add(s);
            if (probe.All(s => s == HttpStatusCode.OK)) break;
            Assert.True(DateTime.UtcNow < deadline, "the vault did not recover after storage came back");
            await Task.Delay(200);
        }

        var ok = Count(statuses, HttpStatusCode.OK);
        output.WriteLine($"{ok} answered 200, {Count(statuses, HttpStatusCode.ServiceUnavailable)} answered 503");
        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        Assert.Equal(ok, Forwarded);
        UsageCounter settled = null!;
        for (var i = 0; i < 50; i++)
        {
            try
            {
                settled = await SettledAsync(instances, grantee);
                if (settled.Requests == ok) break;
            }
            catch (VaultUnavailableException)
            {
            }
            await Task.Delay(200);
        }
        Assert.Equal(ok, settled.Requests);
        Assert.Equal(ok * CostMicros, settled.CostMicros);
    }
}
