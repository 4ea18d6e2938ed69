using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Policies;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Okap.Storage.Azure.Tables;

namespace Okap.Storage.Azure.Tests;

/// <summary>Every store interface against a real Table Storage emulator (Azurite), each test on fresh tables.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TableStoreTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);
    private AzureTableVaultStores _stores = null!;

    public async Task InitializeAsync() => _stores = await azurite.CreateStoresAsync();

    public Task DisposeAsync() => _stores.DeleteTablesAsync(Ct);

    // ---------- owners ----------

    [Fact]
    public async Task Owner_round_trip_with_account_slug_and_count()
    {
        var owner = new Owner("own_1", "alice", "Alice A.", T0.AddTicks(1234567));
        var account = new LocalAccount { OwnerId = "own_1", UserName = "alice", PasswordHash = "AQAAAA==" };
        await _stores.Owners.CreateOwnerAsync(owner, account, Ct);
        await _stores.Owners.CreateOwnerAsync(new Owner("own_2", "bob", "Bob", T0), null, Ct);

        Assert.Equal(owner, await _stores.Owners.GetOwnerAsync("own_1", Ct));
        Assert.Equal(owner, await _stores.Owners.FindOwnerBySlugAsync("alice", Ct));
        Assert.Null(await _stores.Owners.FindOwnerBySlugAsync("carol", Ct));
        Assert.Null(await _stores.Owners.GetOwnerAsync("own_x", Ct));
        Assert.Equal(account, await _stores.Owners.FindAccountAsync("alice", Ct));
        Assert.Null(await _stores.Owners.FindAccountAsync("bob", Ct));
        Assert.Equal(2, await _stores.Owners.CountOwnersAsync(Ct));

        var changed = account with { PasswordHash = "AQAAAQ==" };
        await _stores.Owners.UpdateAccountAsync(changed, Ct);
        Assert.Equal(changed, await _stores.Owners.FindAccountAsync("alice", Ct));
    }

    [Fact]
    public async Task Duplicate_slug_or_user_name_is_refused_and_leaves_no_half_owner()
    {
        await _stores.Owners.CreateOwnerAsync(new Owner("own_1", "alice", "Alice", T0), new LocalAccount { OwnerId = "own_1", UserName = "alice", PasswordHash = "h" }, Ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => _stores.Owners.CreateOwnerAsync(new Owner("own_2", "alice", "Other", T0), null, Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _stores.Owners.CreateOwnerAsync(new Owner("own_3", "carol", "Carol", T0), new LocalAccount { OwnerId = "own_3", UserName = "alice", PasswordHash = "h" }, Ct));

        Assert.Null(await _stores.Owners.GetOwnerAsync("own_2", Ct));
        Assert.Null(await _stores.Owners.GetOwnerAsync("own_3", Ct));
        Assert.Null(await _stores.Owners.FindOwnerBySlugAsync("carol", Ct)); // reservation rolled back
        Assert.Equal(1, await _stores.Owners.CountOwnersAsync(Ct));
    }

    [Fact]
    public async Task External_login_links_once()
    {
        var login = new ExternalLogin("https://login.microsoftonline.com/tenant/v2.0", "sub-123", "own_ext");
        Assert.True(await _stores.Owners.CreateOwnerWithExternalLoginAsync(new Owner("own_ext", "ext", "Ext", T0), login, Ct));
        Assert.False(await _stores.Owners.CreateOwnerWithExternalLoginAsync(new Owner("own_ext2", "ext2", "Ext2", T0), login with { OwnerId = "own_ext2" }, Ct));

        Assert.Equal("own_ext", await _stores.Owners.FindExternalLoginAsync(login.Issuer, login.Subject, Ct));
        Assert.Null(await _stores.Owners.FindExternalLoginAsync(login.Issuer, "other", Ct));
        Assert.Null(await _stores.Owners.GetOwnerAsync("own_ext2", Ct));
    }

    // ---------- requests ----------

    private static AccessRequest Request(string id, string owner, DateTimeOffset at, RequestStatus status = RequestStatus.Pending) => new()
    {
        Id = id,
        OwnerId = owner,
        Shape = RequestShape.Sdk,
        AppName = "App " + id,
        AppUrl = "https://app.example.com",
        Reason = "testing",
        Requested = [Grant("openai")],
        Status = status,
        CreatedAt = at,
        ExpiresAt = at.AddMinutes(10),
    };

    private static Grant Grant(string provider) =>
        new(provider, ["gpt-4o-mini"], ["chat"], new Limits { MonthlySpendMicros = 10_000_000, RequestsPerMinute = 60 }, T0.AddDays(30));

    [Fact]
    public async Task Request_round_trip_and_optimistic_update()
    {
        var request = Request("req_1", "own_a", T0);
        await _stores.Requests.CreateAsync(request, Ct);

        var stored = await _stores.Requests.GetAsync("own_a", "req_1", Ct);
        Assert.NotNull(stored);
        Assert.NotNull(stored.ConcurrencyStamp);
        Assert.Equal(request with { ConcurrencyStamp = stored.ConcurrencyStamp, Requested = stored.Requested }, stored);
        AssertGrants(request.Requested, stored.Requested);
        Assert.Null(await _stores.Requests.GetAsync("own_b", "req_1", Ct)); // owner-scoped

        var approved = stored with { Status = RequestStatus.Approved, Granted = [Grant("openai")], DecidedAt = T0.AddMinutes(1), DecidedBy = "owner" };
        Assert.True(await _stores.Requests.TryUpdateAsync(approved, Ct));
        // the same (now stale) stamp loses
        Assert.False(await _stores.Requests.TryUpdateAsync(stored with { Status = RequestStatus.Denied }, Ct));

        var after = await _stores.Requests.GetAsync("own_a", "req_1", Ct);
        Assert.Equal(RequestStatus.Approved, after!.Status);
        Assert.NotEqual(stored.ConcurrencyStamp, after.ConcurrencyStamp);
        AssertGrants(approved.Granted!, after.Granted!);
        // the listing copy changed in the same transaction
        var listed = Assert.Single((await _stores.Requests.ListAsync("own_a", RequestStatus.Approved, 10, null, Ct)).Items);
        Assert.Equal("owner", listed.DecidedBy);
        Assert.Empty((await _stores.Requests.ListAsync("own_a", RequestStatus.Pending, 10, null, Ct)).Items);
    }

    [Fact]
    public async Task Concurrent_request_updates_let_exactly_one_win()
    {
        await _stores.Requests.CreateAsync(Request("req_race", "own_a", T0), Ct);
        var stored = (await _stores.Requests.GetAsync("own_a", "req_race", Ct))!;

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            _stores.Requests.TryUpdateAsync(stored with { Status = RequestStatus.Approved, DecidedBy = "writer" + i }, Ct)));

        Assert.Equal(1, results.Count(r => r));
        Assert.False(await _stores.Requests.TryUpdateAsync(stored with { ConcurrencyStamp = null }, Ct));
        Assert.False(await _stores.Requests.TryUpdateAsync(Request("req_missing", "own_a", T0) with { ConcurrencyStamp = stored.ConcurrencyStamp }, Ct));
    }

    [Fact]
    public async Task Requests_list_newest_first_with_exact_pages_status_filter_and_owner_isolation()
    {
        for (var i = 0; i < 7; i++)
        {
            await _stores.Requests.CreateAsync(Request($"req_{i}", "own_a", T0.AddMinutes(i), i % 2 == 0 ? RequestStatus.Pending : RequestStatus.Denied), Ct);
        }
        await _stores.Requests.CreateAsync(Request("req_other", "own_b", T0.AddHours(1)), Ct);

        var all = ReadAllAsync((token) => _stores.Requests.ListAsync("own_a", null, 3, token, Ct), out var pageSizes);
        Assert.Equal(["req_6", "req_5", "req_4", "req_3", "req_2", "req_1", "req_0"], (await all).Select(r => r.Id));
        Assert.Equal([3, 3, 1], pageSizes);

        var pending = ReadAllAsync((token) => _stores.Requests.ListAsync("own_a", RequestStatus.Pending, 2, token, Ct), out var pendingSizes);
        Assert.Equal(["req_6", "req_4", "req_2", "req_0"], (await pending).Select(r => r.Id));
        Assert.Equal([2, 2], pendingSizes);

        Assert.Equal(["req_other"], (await _stores.Requests.ListAsync("own_b", null, 10, null, Ct)).Items.Select(r => r.Id));
        await Assert.ThrowsAsync<Okap.Core.InvalidContinuationException>(() => _stores.Requests.ListAsync("own_a", null, 3, "not-a-token", Ct));
    }

    // ---------- tokens ----------

    private static TokenRecord Token(string id, string owner, DateTimeOffset at) => new()
    {
        Id = id,
        Hash = Secrets.Hash("okap_secret_" + id),
        OwnerId = owner,
        RequestId = "req_" + id,
        AppName = "App",
        AppUrl = "https://app.example.com",
        DisplayPrefix = "okap_abcdefg",
        Grants = [Grant("openai"), Grant("anthropic")],
        CreatedAt = at,
        ExpiresAt = at.AddDays(30),
    };

    [Fact]
    public async Task Token_is_found_by_hash_in_one_point_read_and_by_owner()
    {
        var token = Token("tok_1", "own_a", T0);
        await _stores.Tokens.CreateAsync(token, Ct);

        var byHash = await _stores.Tokens.FindByHashAsync(token.Hash, Ct);
        AssertToken(token, byHash);
        AssertToken(token, await _stores.Tokens.GetAsync("own_a", "tok_1", Ct));
        Assert.Null(await _stores.Tokens.GetAsync("own_b", "tok_1", Ct));
        Assert.Null(await _stores.Tokens.FindByHashAsync(Secrets.Hash("unknown"), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => _stores.Tokens.CreateAsync(token, Ct));
    }

    [Fact]
    public async Task Tokens_list_newest_first_in_pages()
    {
        for (var i = 0; i < 5; i++) await _stores.Tokens.CreateAsync(Token($"tok_{i}", "own_a", T0.AddSeconds(i)), Ct);
        await _stores.Tokens.CreateAsync(Token("tok_b", "own_b", T0), Ct);

        var all = ReadAllAsync(token => _stores.Tokens.ListAsync("own_a", 2, token, Ct), out var sizes);
        Assert.Equal(["tok_4", "tok_3", "tok_2", "tok_1", "tok_0"], (await all).Select(t => t.Id));
        Assert.Equal([2, 2, 1], sizes);
    }

    [Fact]
    public async Task Revoke_updates_hash_row_and_owner_rows_and_is_idempotent()
    {
        var token = Token("tok_r", "own_a", T0);
        await _stores.Tokens.CreateAsync(token, Ct);

        Assert.Null(await _stores.Tokens.RevokeAsync("own_b", "tok_r", T0.AddHours(1), Ct)); // not the owner's
        Assert.Null((await _stores.Tokens.FindByHashAsync(token.Hash, Ct))!.RevokedAt);

        var revoked = await _stores.Tokens.RevokeAsync("own_a", "tok_r", T0.AddHours(1), Ct);
        Assert.Equal(T0.AddHours(1), revoked!.RevokedAt);
        var again = await _stores.Tokens.RevokeAsync("own_a", "tok_r", T0.AddHours(2), Ct);
        Assert.Equal(T0.AddHours(1), again!.RevokedAt);

        Assert.Equal(T0.AddHours(1), (await _stores.Tokens.FindByHashAsync(token.Hash, Ct))!.RevokedAt);
        Assert.Equal(T0.AddHours(1), Assert.Single((await _stores.Tokens.ListAsync("own_a", 10, null, Ct)).Items).RevokedAt);
        Assert.Null(await _stores.Tokens.RevokeAsync("own_a", "tok_missing", T0, Ct));
    }

    [Fact]
    public async Task Touch_only_raises_last_used_and_never_clobbers_revocation()
    {
        var token = Token("tok_t", "own_a", T0);
        await _stores.Tokens.CreateAsync(token, Ct);

        await _stores.Tokens.TouchAsync("own_a", "tok_t", T0.AddMinutes(5), Ct);
        await _stores.Tokens.TouchAsync("own_a", "tok_t", T0.AddMinutes(2), Ct);
        await Task.WhenAll(
            _stores.Tokens.TouchAsync("own_a", "tok_t", T0.AddMinutes(9), Ct),
            _stores.Tokens.RevokeAsync("own_a", "tok_t", T0.AddMinutes(8), Ct),
            _stores.Tokens.TouchAsync("own_a", "tok_t", T0.AddMinutes(7), Ct));

        foreach (var t in new[]
                 {
                     await _stores.Tokens.FindByHashAsync(token.Hash, Ct),
                     await _stores.Tokens.GetAsync("own_a", "tok_t", Ct),
                     (await _stores.Tokens.ListAsync("own_a", 10, null, Ct)).Items.Single(),
                 })
        {
            Assert.Equal(T0.AddMinutes(9), t!.LastUsedAt);
            Assert.Equal(T0.AddMinutes(8), t.RevokedAt);
        }
        await _stores.Tokens.TouchAsync("own_b", "tok_t", T0.AddDays(1), Ct); // other owner: no effect
        Assert.Equal(T0.AddMinutes(9), (await _stores.Tokens.GetAsync("own_a", "tok_t", Ct))!.LastUsedAt);
    }

    [Fact]
    public async Task Delete_removes_every_row()
    {
        var token = Token("tok_d", "own_a", T0);
        await _stores.Tokens.CreateAsync(token, Ct);
        await _stores.Tokens.DeleteAsync("own_b", "tok_d", Ct); // not the owner's: nothing happens
        Assert.NotNull(await _stores.Tokens.FindByHashAsync(token.Hash, Ct));

        await _stores.Tokens.DeleteAsync("own_a", "tok_d", Ct);
        await _stores.Tokens.DeleteAsync("own_a", "tok_d", Ct);

        Assert.Null(await _stores.Tokens.FindByHashAsync(token.Hash, Ct));
        Assert.Null(await _stores.Tokens.GetAsync("own_a", "tok_d", Ct));
        Assert.Empty((await _stores.Tokens.ListAsync("own_a", 10, null, Ct)).Items);
    }

    // ---------- key metadata, policies, access keys ----------

    [Fact]
    public async Task Key_metadata_round_trip_list_and_delete()
    {
        var info = new MasterKeyInfo { OwnerId = "own_a", Provider = "openai", Label = "work", Last4 = "abcd", BaseUrl = "https://api.example.com/v1", AuthKind = MasterKeyAuthKinds.AzureApiKey, CreatedAt = T0, UpdatedAt = T0 };
        await _stores.Keys.UpsertAsync(info, Ct);
        await _stores.Keys.UpsertAsync(info with { Provider = "anthropic", Label = null, BaseUrl = null, AuthKind = MasterKeyAuthKinds.Key }, Ct);
        await _stores.Keys.UpsertAsync(info with { OwnerId = "own_b" }, Ct);
        var updated = info with { Last4 = "wxyz", UpdatedAt = T0.AddDays(1) };
        await _stores.Keys.UpsertAsync(updated, Ct);

        Assert.Equal(updated, await _stores.Keys.GetAsync("own_a", "openai", Ct));
        Assert.Equal(["anthropic", "openai"], (await _stores.Keys.ListAsync("own_a", Ct)).Select(k => k.Provider));
        Assert.True(await _stores.Keys.DeleteAsync("own_a", "openai", Ct));
        Assert.False(await _stores.Keys.DeleteAsync("own_a", "openai", Ct));
        Assert.Null(await _stores.Keys.GetAsync("own_a", "openai", Ct));
        Assert.NotNull(await _stores.Keys.GetAsync("own_b", "openai", Ct));
    }

    [Fact]
    public async Task Policy_round_trip_with_lists_and_limits()
    {
        var policy = new AutoApprovePolicy
        {
            Id = "pol_1", OwnerId = "own_a", Name = "CI", AppName = "ci-bot", Providers = ["openai", "anthropic"], Models = ["gpt-4o-mini"],
            Capabilities = ["chat", "embeddings"], MaxLimits = new Limits { DailySpendMicros = 1_500_000, TokensPerRequest = 4000 }, MaxDays = 7, Enabled = false, CreatedAt = T0,
        };
        await _stores.Policies.UpsertAsync(policy, Ct);
        await _stores.Policies.UpsertAsync(policy with { Id = "pol_2", Name = "Any", AppName = null, Models = [], Capabilities = [], MaxLimits = Limits.None, MaxDays = null, Enabled = true, CreatedAt = T0.AddMinutes(1) }, Ct);

        var stored = await _stores.Policies.GetAsync("own_a", "pol_1", Ct);
        Assert.NotNull(stored);
        Assert.Equal(policy.Providers, stored.Providers);
        Assert.Equal(policy.Models, stored.Models);
        Assert.Equal(policy.Capabilities, stored.Capabilities);
        Assert.Equal(policy.MaxLimits, stored.MaxLimits);
        Assert.Equal((policy.Name, policy.AppName, policy.MaxDays, policy.Enabled, policy.CreatedAt), (stored.Name, stored.AppName, stored.MaxDays, stored.Enabled, stored.CreatedAt));
        Assert.Equal(["pol_1", "pol_2"], (await _stores.Policies.ListAsync("own_a", Ct)).Select(p => p.Id));
        Assert.Empty(await _stores.Policies.ListAsync("own_b", Ct));
        Assert.Null(await _stores.Policies.GetAsync("own_b", "pol_1", Ct));
        Assert.False(await _stores.Policies.DeleteAsync("own_b", "pol_1", Ct));
        Assert.True(await _stores.Policies.DeleteAsync("own_a", "pol_1", Ct));
        Assert.Equal(["pol_2"], (await _stores.Policies.ListAsync("own_a", Ct)).Select(p => p.Id));
    }

    [Fact]
    public async Task Access_keys_by_hash_list_and_revoke()
    {
        var key = new PersonalAccessKey { Id = "pat_1", OwnerId = "own_a", Name = "cli", Hash = Secrets.Hash("okap_pat_x"), DisplayPrefix = "okap_pat_x", CreatedAt = T0, ExpiresAt = T0.AddDays(90) };
        await _stores.AccessKeys.CreateAsync(key, Ct);
        await _stores.AccessKeys.CreateAsync(key with { Id = "pat_2", Hash = Secrets.Hash("okap_pat_y"), CreatedAt = T0.AddMinutes(1) }, Ct);

        Assert.Equal(key, await _stores.AccessKeys.FindByHashAsync(key.Hash, Ct));
        Assert.Equal(["pat_2", "pat_1"], (await _stores.AccessKeys.ListAsync("own_a", Ct)).Select(k => k.Id));
        Assert.Empty(await _stores.AccessKeys.ListAsync("own_b", Ct));

        Assert.False(await _stores.AccessKeys.RevokeAsync("own_b", "pat_1", T0.AddHours(1), Ct));
        Assert.True(await _stores.AccessKeys.RevokeAsync("own_a", "pat_1", T0.AddHours(1), Ct));
        Assert.True(await _stores.AccessKeys.RevokeAsync("own_a", "pat_1", T0.AddHours(2), Ct));
        Assert.Equal(T0.AddHours(1), (await _stores.AccessKeys.FindByHashAsync(key.Hash, Ct))!.RevokedAt);
        Assert.Equal(T0.AddHours(1), (await _stores.AccessKeys.ListAsync("own_a", Ct)).Single(k => k.Id == "pat_1").RevokedAt);
        Assert.False(await _stores.AccessKeys.RevokeAsync("own_a", "pat_missing", T0, Ct));
    }

    // ---------- usage ----------

    [Fact]
    public async Task Usage_adds_creates_and_reads_day_and_month()
    {
        var grant = UsageKeys.Grant("tok_1", "openai");
        var day = UsageKeys.Day(T0);
        var month = UsageKeys.Month(T0);
        await _stores.Usage.AddAsync([new("own_a", grant, day, 1, 100, 50, 1_234), new("own_a", grant, month, 1, 100, 50, 1_234)], Ct);
        await _stores.Usage.AddAsync([new("own_a", grant, day, 2, 10, 5, 1_000_000_000_000), new("own_a", grant, month, 2, 10, 5, 1_000_000_000_000)], Ct);
        await _stores.Usage.AddAsync([new("own_b", grant, day, 9, 9, 9, 9)], Ct);

        var counters = await _stores.Usage.GetAsync("own_a", grant, [day, month, "d:2020-01-01"], Ct);
        Assert.Equal(
            [new UsageCounter("own_a", grant, day, 3, 110, 55, 1_000_000_001_234), new UsageCounter("own_a", grant, month, 3, 110, 55, 1_000_000_001_234)],
            counters);
        Assert.Empty(await _stores.Usage.GetAsync("own_a", UsageKeys.Grant("tok_2", "openai"), [day], Ct));
    }

    [Fact]
    public async Task Usage_list_from_period_keeps_kind_and_owner()
    {
        var g1 = UsageKeys.Grant("tok_1", "openai");
        var g2 = UsageKeys.Grant("tok_2", "anthropic");
        await _stores.Usage.AddAsync(
        [
            new("own_a", g1, "d:2026-02-27", 1, 0, 0, 10), new("own_a", g1, "d:2026-03-01", 1, 0, 0, 20), new("own_a", g2, "d:2026-03-02", 1, 0, 0, 30),
            new("own_a", g1, "m:2026-02", 1, 0, 0, 10), new("own_a", g1, "m:2026-03", 2, 0, 0, 20), new("own_b", g1, "d:2026-03-01", 1, 0, 0, 99),
        ], Ct);

        var days = await _stores.Usage.ListAsync("own_a", "d:2026-03-01", Ct);
        Assert.Equal([("d:2026-03-01", g1, 20L), ("d:2026-03-02", g2, 30L)], days.Select(c => (c.Period, c.GrantKey, c.CostMicros)));
        var months = await _stores.Usage.ListAsync("own_a", "m:2026-01", Ct);
        Assert.Equal(["m:2026-02", "m:2026-03"], months.Select(c => c.Period));
    }

    [Fact]
    public async Task Usage_conflict_storm_of_50_parallel_adds_on_one_grant_loses_nothing()
    {
        var grant = UsageKeys.Grant("tok_hot", "openai");
        var day = UsageKeys.Day(T0);
        var month = UsageKeys.Month(T0);

        await Task.WhenAll(Enumerable.Range(1, 50).Select(i => Task.Run(() => _stores.Usage.AddAsync(
            [new("own_hot", grant, day, 1, i, 2 * i, 1_000 * i), new("own_hot", grant, month, 1, i, 2 * i, 1_000 * i)], Ct))));

        var sum = Enumerable.Range(1, 50).Sum();
        var counters = await _stores.Usage.GetAsync("own_hot", grant, [day, month], Ct);
        Assert.Equal(2, counters.Count);
        Assert.All(counters, c => Assert.Equal((50L, (long)sum, 2L * sum, 1_000L * sum), (c.Requests, c.InputTokens, c.OutputTokens, c.CostMicros)));
    }

    [Fact]
    public async Task Usage_conflict_storm_on_a_single_unsharded_entity_retries_on_412_and_loses_nothing()
    {
        var stores = await azurite.CreateStoresAsync(o =>
        {
            o.UsageShards = 1;
            o.UsageMaxAttempts = 100;
        });
        try
        {
            var grant = UsageKeys.Grant("tok_one", "openai");
            await Task.WhenAll(Enumerable.Range(1, 50).Select(i => Task.Run(() => stores.Usage.AddAsync(
                [new("own_one", grant, "d:2026-03-01", 1, 0, 0, i), new("own_one", grant, "m:2026-03", 1, 0, 0, i)], Ct))));

            var counters = await stores.Usage.GetAsync("own_one", grant, ["d:2026-03-01", "m:2026-03"], Ct);
            Assert.All(counters, c => Assert.Equal((50L, 1275L), (c.Requests, c.CostMicros)));
            Assert.Equal(2, counters.Count);
            Assert.True(((UsageTableStore)stores.Usage).ConflictRetries > 0, "50 writers on one entity must have hit 412s and retried.");
        }
        finally
        {
            await stores.DeleteTablesAsync(Ct);
        }
    }

    [Fact]
    public async Task Usage_counters_are_sharded_and_summed_on_read()
    {
        var stores = await azurite.CreateStoresAsync(o => o.UsageShards = 8);
        try
        {
            var grant = UsageKeys.Grant("tok_s", "openai");
            for (var i = 0; i < 40; i++) await stores.Usage.AddAsync([new("own_s", grant, "d:2026-03-01", 1, 1, 1, 1)], Ct);

            var service = AzureTableVaultStores.CreateServiceClient(new AzureStorageOptions { ConnectionString = azurite.Azurite.ConnectionString });
            var table = service.GetTableClient(stores.TableNames.Single(n => n.EndsWith("usage", StringComparison.Ordinal)));
            var shards = new List<int>();
            await foreach (var row in table.QueryAsync<global::Azure.Data.Tables.TableEntity>(maxPerPage: 1000)) shards.Add(row.GetInt32("Shard")!.Value);
            Assert.True(shards.Count > 1, "40 writes over 8 shards should touch several shard rows.");
            Assert.All(shards, s => Assert.InRange(s, 0, 7));

            Assert.Equal(40, Assert.Single(await stores.Usage.GetAsync("own_s", grant, ["d:2026-03-01"], Ct)).Requests);
            Assert.Equal(40, Assert.Single(await stores.Usage.ListAsync("own_s", "d:2026-01-01", Ct)).CostMicros);
        }
        finally
        {
            await stores.DeleteTablesAsync(Ct);
        }
    }

    [Fact]
    public async Task Usage_repeated_counter_in_one_call_is_added_up()
    {
        var grant = UsageKeys.Grant("tok_1", "openai");
        await _stores.Usage.AddAsync([new("own_a", grant, "d:2026-03-01", 1, 1, 1, 1), new("own_a", grant, "d:2026-03-01", 2, 2, 2, 2)], Ct);
        Assert.Equal(3, Assert.Single(await _stores.Usage.GetAsync("own_a", grant, ["d:2026-03-01"], Ct)).Requests);
    }

    // ---------- audit ----------

    [Fact]
    public async Task Audit_lists_newest_first_with_filters_and_pages()
    {
        for (var i = 0; i < 9; i++)
        {
            await _stores.Audit.AppendAsync(new AuditEvent
            {
                Id = $"evt_{i}", OwnerId = "own_a", At = T0.AddSeconds(i), Event = i % 3 == 0 ? AuditEvents.TokenIssued : AuditEvents.RequestCreated,
                AppName = i % 2 == 0 ? "even-app" : "odd-app", ClientAddress = "203.0.113.7", RequestId = "req_" + i, TokenId = null, Detail = "d" + i,
            }, Ct);
        }
        await _stores.Audit.AppendAsync(new AuditEvent { Id = "evt_b", OwnerId = "own_b", At = T0, Event = AuditEvents.SignIn }, Ct);

        var all = ReadAllAsync(token => _stores.Audit.ListAsync("own_a", new AuditQuery(PageSize: 4, ContinuationToken: token), Ct), out var sizes);
        Assert.Equal(Enumerable.Range(0, 9).Reverse().Select(i => $"evt_{i}"), (await all).Select(e => e.Id));
        Assert.Equal([4, 4, 1], sizes);

        var issued = (await _stores.Audit.ListAsync("own_a", new AuditQuery(Event: AuditEvents.TokenIssued), Ct)).Items;
        Assert.Equal(["evt_6", "evt_3", "evt_0"], issued.Select(e => e.Id));
        var evenIssued = ReadAllAsync(token => _stores.Audit.ListAsync("own_a", new AuditQuery(PageSize: 1, ContinuationToken: token, AppName: "even-app", Event: AuditEvents.TokenIssued), Ct), out var evenSizes);
        Assert.Equal(["evt_6", "evt_0"], (await evenIssued).Select(e => e.Id));
        Assert.Equal([1, 1], evenSizes);

        var first = (await _stores.Audit.ListAsync("own_a", new AuditQuery(PageSize: 1), Ct)).Items.Single();
        Assert.Equal(("own_a", T0.AddSeconds(8), "even-app", "203.0.113.7", "req_8", "d8"), (first.OwnerId, first.At, first.AppName, first.ClientAddress, first.RequestId, first.Detail));
        Assert.Equal(["evt_b"], (await _stores.Audit.ListAsync("own_b", new AuditQuery(), Ct)).Items.Select(e => e.Id));
    }

    [Fact]
    public async Task Initialize_is_idempotent()
    {
        await _stores.InitializeAsync(Ct);
        await _stores.InitializeAsync(Ct);
    }

    // ---------- helpers ----------

    /// <summary>Follows continuation tokens to the end; records each page's size.</summary>
    private static Task<List<T>> ReadAllAsync<T>(Func<string?, Task<Page<T>>> list, out List<int> pageSizes)
    {
        var sizes = new List<int>();
        pageSizes = sizes;
        return Run();

        async Task<List<T>> Run()
        {
            var items = new List<T>();
            string? token = null;
            do
            {
                var page = await list(token);
                sizes.Add(page.Items.Count);
                items.AddRange(page.Items);
                token = page.ContinuationToken;
                Assert.True(sizes.Count < 100, "paging did not end");
            }
            while (token is not null);
            return items;
        }
    }

    private static void AssertGrants(IReadOnlyList<Grant> expected, IReadOnlyList<Grant> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Provider, actual[i].Provider);
            Assert.Equal(expected[i].Models, actual[i].Models);
            Assert.Equal(expected[i].Capabilities, actual[i].Capabilities);
            Assert.Equal(expected[i].Limits, actual[i].Limits);
            Assert.Equal(expected[i].ExpiresAt, actual[i].ExpiresAt);
        }
    }

    private static void AssertToken(TokenRecord expected, TokenRecord? actual)
    {
        Assert.NotNull(actual);
        AssertGrants(expected.Grants, actual.Grants);
        Assert.Equal(expected with { Grants = actual.Grants }, actual);
    }
}
