using System.Net;
using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Proxy.Tests.Infrastructure;
using Okap.Testing;

namespace Okap.Proxy.Tests.Integration;

/// <summary>Concurrency against a cap, disconnects, revocation timing, fail-closed storage and upstream failures.</summary>
[Collection(VaultCollection.Name)]
public sealed class ResilienceTests(VaultFixture f)
{
    private VaultHost Vault => f.Vault;
    private FakeProvider Fake => f.Fake;

    [Fact]
    public async Task Parallel_requests_against_a_nearly_spent_cap_overshoot_by_at_most_one_reservation()
    {
        const long cap = 50_000;
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", ["gpt-4o-mini"], limits: new Limits { DailySpendMicros = cap }));
        var grantKey = UsageKeys.Grant(id, "openai");
        var now = DateTimeOffset.UtcNow;
        // Already spent (in the store, as another instance would have left it): all but ~5 calls' worth.
        await Vault.Usage.AddAsync([new UsageCounter(VaultHost.Owner, grantKey, UsageKeys.Day(now), 40, 0, 0, cap - 3_000)], default);

        var body = Http.Chat(extra: ",\"max_tokens\":1000");
        using var client = Vault.Client(token);
        var tasks = Enumerable.Range(0, 120).Select(async _ =>
        {
            using var req = Http.Post("/v1/openai/chat/completions", body, ("x-fake-usage", "100,1000"), ("x-fake-delay-ms", "5"));
            using var res = await client.SendAsync(req);
            return res.StatusCode;
        }).ToArray();
        var statuses = await Task.WhenAll(tasks);

        var ok = statuses.Count(s => s == HttpStatusCode.OK);
        var refused = statuses.Count(s => s == HttpStatusCode.TooManyRequests); // OpenAI format: spend refusals are 429
        Assert.Equal(120, ok + refused);
        Assert.InRange(ok, 1, 5);

        var day = (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day;
        var reservation = (long)Math.Ceiling((body.Length * 150_000 + 1000 * 600_000) / 1e6);
        Assert.Equal(0, day.ReservedMicros);
        Assert.True(day.CostMicros <= cap + reservation, $"spent {day.CostMicros} > cap {cap} + {reservation}");
        Assert.Equal(cap - 3_000 + ok * 615, day.CostMicros);
    }

    [Fact]
    public async Task Disconnect_mid_stream_cancels_upstream_and_bills_what_was_produced()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 10_000_000 }));
        var cancelledBefore = Volatile.Read(ref Fake.Cancelled);
        using (var client = Vault.Client(token))
        {
            using var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(stream: true, extra: ",\"max_tokens\":5000"), ("x-fake-mode", "hang"), ("x-fake-delay-ms", "20")),
                HttpCompletionOption.ResponseHeadersRead);
            using var stream = await res.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(stream);
            var events = 0;
            while (events < 10 && await reader.ReadLineAsync() is { } line)
                if (line.StartsWith("data: ")) events++;
        } // disposing the response aborts the connection

        await WaitUntil(() => Volatile.Read(ref Fake.Cancelled) > cancelledBefore, "the upstream call was not cancelled");
        TokenBudget? budget = null;
        await WaitUntil(async () =>
        {
            budget = await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id);
            return budget!.Grants[0].Day.Requests == 1 && budget.Grants[0].Day.ReservedMicros == 0;
        }, "the reservation was not settled");
        var day = budget!.Grants[0].Day;
        Assert.True(day.OutputTokens > 0, "output produced before the disconnect is billed");
        Assert.True(day.InputTokens > 0);
        Assert.True(day.CostMicros > 0 && day.CostMicros < 5000 * 0.6 * 10, $"cost {day.CostMicros}");
    }

    [Fact]
    public async Task Revocation_takes_effect_within_one_second()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode); // now cached
        await Vault.Tokens.RevokeAsync(VaultHost.Owner, id, DateTimeOffset.UtcNow, default);
        await Task.Delay(TimeSpan.FromSeconds(1.05));
        await (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).AssertError(401, "token_revoked");
    }

    [Fact]
    public async Task Storage_down_fails_closed_with_503()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        Vault.Health.Down = true;
        try
        {
            using var client = Vault.Client(token);
            var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()));
            await res.AssertError(503, "vault_unavailable");
        }
        finally
        {
            Vault.Health.Down = false;
        }
    }

    [Fact]
    public async Task Usage_store_down_on_first_use_fails_closed()
    {
        // Token T grants openai and groq. Warm every cache except T's groq usage totals, then take storage down.
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"), VaultHost.Grant("groq"));
        var (warm, _) = await Vault.IssueAsync(VaultHost.Grant("groq"));
        using (var w = Vault.Client(warm)) Assert.Equal(HttpStatusCode.OK, (await w.SendAsync(Http.Post("/v1/groq/chat/completions", Http.Chat("llama-3.1-8b-instant")))).StatusCode);
        using var client = Vault.Client(token);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode);
        var before = Fake.Seen.Count;
        Vault.Health.Down = true;
        try
        {
            var res = await client.SendAsync(Http.Post("/v1/groq/chat/completions", Http.Chat("llama-3.1-8b-instant")));
            await res.AssertError(503, "vault_unavailable");
            Assert.Equal(before, Fake.Seen.Count);
        }
        finally
        {
            Vault.Health.Down = false;
        }
    }

    [Fact]
    public async Task Slow_storage_times_out_to_503()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        Vault.Health.DelayMs = 3000;
        try
        {
            using var client = Vault.Client(token);
            var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()));
            await res.AssertError(503, "vault_unavailable");
        }
        finally
        {
            Vault.Health.DelayMs = 0;
        }
    }

    [Fact]
    public async Task Upstream_error_passes_through_and_releases_the_reservation()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", limits: new Limits { DailySpendMicros = 1_000_000 }));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(), ("x-fake-mode", "error")));
        Assert.Equal(HttpStatusCode.BadRequest, res.StatusCode);
        Assert.Equal("upstream says no", (string?)(await res.BodyJson())["error"]!["message"]);
        var day = (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day;
        Assert.Equal(0, day.CostMicros);
        Assert.Equal(0, day.ReservedMicros);
        Assert.Equal(1_000_000, day.RemainingMicros);
    }

    [Fact]
    public async Task Unreachable_upstream_is_502()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("together", limits: new Limits { DailySpendMicros = 1_000_000 }));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/together/chat/completions", Http.Chat("meta-llama/Llama-3.3-70B-Instruct-Turbo")));
        await res.AssertError(502, "upstream_unavailable");
        Assert.Equal(0, (await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id))!.Grants[0].Day.ReservedMicros);
    }

    [Fact]
    public async Task Upstream_timeout_is_504()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = Vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(), ("x-fake-mode", "slow")));
        await res.AssertError(504, "upstream_timeout");
    }

    [Fact]
    public async Task Insecure_owner_upstream_is_refused_unless_allowed()
    {
        await using var vault = await VaultHost.StartAsync(Fake, new Dictionary<string, string?> { ["Okap:Proxy:AllowInsecureOwnerUpstreams"] = "false" });
        await vault.SetKeyAsync("own_lan", "ollama", null, Fake.Url + "/ollama/v1", "none");
        var (token, _) = await vault.IssueForAsync("own_lan", VaultHost.Grant("ollama"));
        using var client = vault.Client(token);
        var res = await client.SendAsync(Http.Post("/v1/ollama/chat/completions", Http.Chat("llama3")));
        await res.AssertError(502, "upstream_unavailable");
    }

    [Fact]
    public async Task Owner_upstream_on_a_private_address_is_refused_unless_allowed_while_operator_upstreams_are_not_affected()
    {
        await using var vault = await VaultHost.StartAsync(Fake, new Dictionary<string, string?> { ["Okap:Proxy:AllowPrivateOwnerUpstreams"] = "false" });
        await vault.SetKeyAsync("own_lan", "ollama", null, Fake.Url + "/ollama/v1", "none");
        var (token, _) = await vault.IssueForAsync("own_lan", VaultHost.Grant("ollama"));
        using var client = vault.Client(token);
        var before = Fake.Seen.Count;
        var res = await client.SendAsync(Http.Post("/v1/ollama/chat/completions", Http.Chat("llama3")));
        await res.AssertError(502, "upstream_unavailable");
        Assert.Equal(before, Fake.Seen.Count);

        // The operator's own upstream (configuration) on loopback still works.
        await vault.SetKeyAsync("own_lan", "openai", "sk-operator-upstream-0001");
        var (openai, _) = await vault.IssueForAsync("own_lan", VaultHost.Grant("openai"));
        using var operatorClient = vault.Client(openai);
        Assert.Equal(HttpStatusCode.OK, (await operatorClient.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat("gpt-4o-mini")))).StatusCode);
    }

    [Fact]
    public async Task Managed_identity_is_never_sent_to_a_host_outside_the_operators_list()
    {
        await using var vault = await VaultHost.StartAsync(Fake, new Dictionary<string, string?> { ["Okap:Proxy:ManagedIdentityHosts:0"] = ".openai.azure.com" });
        await vault.SetKeyAsync("own_mi", "openai", null, Fake.Url + "/azuremi/openai/v1", "managed-identity");
        var (token, _) = await vault.IssueForAsync("own_mi", VaultHost.Grant("openai"));
        using var client = vault.Client(token);
        var before = Fake.Seen.Count;
        var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat("gpt-4o-mini")));
        await res.AssertError(403, "no_master_key");
        Assert.Equal(before, Fake.Seen.Count);
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.20.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("198.18.0.1", false)]
    [InlineData("198.19.255.254", false)]
    [InlineData("192.0.0.8", false)]
    [InlineData("192.0.2.10", false)]
    [InlineData("198.51.100.7", false)]
    [InlineData("203.0.113.9", false)]
    [InlineData("192.88.99.1", false)]
    [InlineData("240.0.0.1", false)]
    [InlineData("64:ff9b::a00:1", false)]
    [InlineData("64:ff9b::7f00:1", false)]
    [InlineData("64:ff9b:1::1", false)]
    [InlineData("::a00:1", false)]
    [InlineData("100::1", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData("2001:0:4136:e378::1", false)]
    [InlineData("2002:a00:1::1", false)]
    [InlineData("3fff::1", false)]
    [InlineData("198.20.0.1", true)]
    [InlineData("192.0.3.1", true)]
    [InlineData("2001:4860::8888", true)]
    [InlineData("20.42.1.1", true)]
    [InlineData("2606:4700::1111", true)]
    public void Public_address_check(string address, bool isPublic) =>
        Assert.Equal(isPublic, UpstreamClient.IsPublic(System.Net.IPAddress.Parse(address)));

    [Fact]
    public async Task A_flush_that_fails_half_way_writes_the_rest_later_and_counts_nothing_twice()
    {
        await using var vault = await VaultHost.StartAsync(Fake, new Dictionary<string, string?> { ["Okap:Proxy:FlushInterval"] = "00:05:00" });
        var (token, id) = await vault.IssueAsync(VaultHost.Grant("openai"));
        using var client = vault.Client(token);
        for (var i = 0; i < 3; i++)
        {
            using var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat(), ("x-fake-usage", "10,5")));
            Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        }

        vault.Usage.WriteOnlyNext = 1; // the day and month counters: one is written, then the store fails
        await vault.FlushAsync();
        await vault.FlushAsync();

        var now = DateTimeOffset.UtcNow;
        var stored = await vault.Usage.GetAsync(VaultHost.Owner, UsageKeys.Grant(id, "openai"), [UsageKeys.Day(now), UsageKeys.Month(now)], default);
        Assert.Equal(2, stored.Count);
        Assert.All(stored, c => Assert.Equal((3L, 30L, 15L), (c.Requests, c.InputTokens, c.OutputTokens)));
    }

    [Fact]
    public async Task Invalid_options_fail_at_start()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => VaultHost.StartAsync(Fake, new Dictionary<string, string?> { ["Okap:Proxy:TokenCacheTtl"] = "00:00:05" }));
        Assert.Contains("TokenCacheTtl", ex.Message);
    }

    [Fact]
    public async Task A_vault_that_stops_with_every_batch_written_leaves_no_writer_mark_and_one_that_spools_keeps_it()
    {
        foreach (var storeDownAtStop in new[] { false, true })
        {
            var spool = Path.Combine(Path.GetTempPath(), "okap-spool-" + Guid.NewGuid().ToString("N"));
            var vault = await VaultHost.StartAsync(Fake, new Dictionary<string, string?> { ["Okap:Proxy:SpoolDirectory"] = spool });
            var (token, _) = await vault.IssueAsync(VaultHost.Grant("openai"));
            using (var client = vault.Client(token))
                Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode);
            await vault.FlushAsync();
            Assert.Equal(1, vault.Usage.RememberedWriters);
            using (var client = vault.Client(token))
                Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode);
            vault.Health.Down = storeDownAtStop;
            await vault.DisposeAsync();
            vault.Health.Down = false;

            // Spooled: the next process may send the batch again, so the store must still recognise it.
            Assert.Equal(storeDownAtStop ? 1 : 0, vault.Usage.RememberedWriters);
            Assert.Equal(storeDownAtStop, Directory.Exists(spool) && Directory.GetFiles(spool).Length > 0);
            try { Directory.Delete(spool, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("02:00:00")]
    public async Task Store_outage_grace_outside_zero_to_an_hour_fails_at_start(string grace)
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => VaultHost.StartAsync(Fake, new Dictionary<string, string?> { ["Okap:Proxy:StoreOutageGrace"] = grace }));
        Assert.Contains("StoreOutageGrace", ex.Message);
    }

    [Fact]
    public async Task Storage_down_serves_a_checked_token_for_the_grace_unless_the_operator_chose_fail_closed()
    {
        foreach (var failClosed in new[] { false, true })
        {
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
            await using var vault = await VaultHost.StartAsync(Fake, new Dictionary<string, string?>
            {
                ["Okap:Proxy:FailClosedOnStoreOutage"] = failClosed ? "true" : "false",
                ["Okap:Proxy:TokenCacheTtl"] = "00:00:00.200",
                ["Okap:Proxy:KeyCacheTtl"] = "00:00:00.200",
            }, time);
            var (token, _) = await vault.IssueAsync(VaultHost.Grant("openai"));
            using var client = vault.Client(token);
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()))).StatusCode);
            vault.Health.Down = true;
            time.Advance(TimeSpan.FromMilliseconds(300)); // past the token and key caches: the store must be asked, and is down
            var res = await client.SendAsync(Http.Post("/v1/openai/chat/completions", Http.Chat()));
            if (failClosed) await res.AssertError(503, "vault_unavailable");
            else Assert.Equal(HttpStatusCode.OK, res.StatusCode);
        }
    }

    private static Task WaitUntil(Func<bool> condition, string message) => WaitUntil(() => Task.FromResult(condition()), message);

    private static async Task WaitUntil(Func<Task<bool>> condition, string message)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail(message);
            await Task.Delay(50);
        }
    }
}
