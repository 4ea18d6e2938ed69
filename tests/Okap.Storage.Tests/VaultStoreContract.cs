using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Policies;
using Okap.Core.Pricing;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Microsoft.Extensions.Time.Testing;

namespace Okap.Storage.Tests;

/// <summary>
/// The behaviour every <see cref="IVaultStores"/> + <see cref="ISecretStore"/> implementation must show.
/// Subclass it once per implementation (SQLite, Azure Table Storage, ...) and implement the factory methods.
/// </summary>
/// <remarks>
/// Every test makes its own owner ids (a new GUID each), so tests are independent of each other and of
/// anything else in the store: implementations may share one database or table account across all tests.
/// Times used are UTC with millisecond precision; stores must round-trip them exactly.
/// Listings: a page holds at most pageSize items and is full unless it is the last; a page with fewer items ends
/// the listing (null token); an exactly full last page may carry a token whose next page is empty.
/// </remarks>
public abstract class VaultStoreContract : IAsyncLifetime
{
    /// <summary>A fixed instant used as the base of all test times (millisecond precision, UTC).</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, 123, TimeSpan.Zero);

    private static readonly JsonSerializerOptions CompareOptions = new()
    {
        Converters = { new UtcInstantConverter(), new JsonStringEnumConverter() },
        WriteIndented = false,
    };

    protected static CancellationToken Ct => CancellationToken.None;

    /// <summary>The clock the stores under test must use for what they time-stamp themselves (writer marks).</summary>
    protected FakeTimeProvider Clock { get; } = new(T0);

    /// <summary>The stores under test, created and initialised before each test.</summary>
    protected IVaultStores Stores { get; private set; } = null!;

    /// <summary>The secret store under test, created after <see cref="Stores"/>.</summary>
    protected ISecretStore Secrets { get; private set; } = null!;

    /// <summary>Creates the stores under test; <see cref="IVaultStores.InitializeAsync"/> is called by the suite.</summary>
    protected abstract Task<IVaultStores> CreateStoresAsync();

    /// <summary>Creates the secret store under test (it may share storage with <paramref name="stores"/>).</summary>
    protected abstract ISecretStore CreateSecretStore(IVaultStores stores);

    /// <summary>
    /// The raw value the backend keeps at rest for this secret (e.g. the ciphertext column), used to check the
    /// secret is not stored in clear; null when the backend gives no such view (the check is then skipped).
    /// </summary>
    protected virtual Task<string?> ReadStoredSecretAsync(string ownerId, string provider) => Task.FromResult<string?>(null);

    /// <summary>Releases what <see cref="CreateStoresAsync"/> created.</summary>
    protected virtual Task DisposeStoresAsync(IVaultStores stores) => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        Stores = await CreateStoresAsync();
        await Stores.InitializeAsync(Ct);
        Secrets = CreateSecretStore(Stores);
    }

    public Task DisposeAsync() => Stores is null ? Task.CompletedTask : DisposeStoresAsync(Stores);

    // ───────────────────────────── helpers ─────────────────────────────

    protected static string NewId(string prefix) => string.Concat(prefix, "_", Guid.NewGuid().ToString("N"));

    protected static string NewOwnerId() => NewId("own");

    protected static Grant SampleGrant(string provider = "openai", DateTimeOffset? expires = null) => new(
        provider,
        ["gpt-4o", "gpt-4o-mini"],
        ["chat"],
        new Limits { MonthlySpendMicros = 5_000_000, DailySpendMicros = 1_000_000, RequestsPerMinute = 60, RequestsPerDay = 1000, TokensPerRequest = 4096 },
        expires ?? T0.AddDays(30));

    protected static AccessRequest NewRequest(string ownerId, DateTimeOffset createdAt, RequestStatus status = RequestStatus.Pending, string? id = null) => new()
    {
        Id = id ?? NewId("req"),
        OwnerId = ownerId,
        Shape = RequestShape.Spec,
        AppName = "Test App",
        AppUrl = "https://app.example",
        RedirectUri = "https://app.example/callback",
        Reason = "testing",
        ClientAddress = "203.0.113.7",
        Requested = [SampleGrant("openai"), SampleGrant("anthropic", expires: null) with { ExpiresAt = null, Models = [], Capabilities = [], Limits = Limits.None }],
        Status = status,
        CreatedAt = createdAt,
        ExpiresAt = createdAt.AddMinutes(10),
        PollHandleHash = "ab" + Guid.NewGuid().ToString("N"),
    };

    protected static TokenRecord NewToken(string ownerId, DateTimeOffset createdAt, string? id = null) => new()
    {
        Id = id ?? NewId("tok"),
        Hash = Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"),
        OwnerId = ownerId,
        RequestId = NewId("req"),
        AppName = "Test App",
        AppUrl = "https://app.example",
        DisplayPrefix = "okap_abcdefg",
        Grants = [SampleGrant("openai"), SampleGrant("gemini", T0.AddDays(1))],
        CreatedAt = createdAt,
        ExpiresAt = T0.AddDays(1),
    };

    protected static AuditEvent NewAudit(string ownerId, DateTimeOffset at, string evt = AuditEvents.TokenUsed, string? app = "Test App") => new()
    {
        Id = NewId("aud"),
        OwnerId = ownerId,
        At = at,
        Event = evt,
        AppName = app,
        ClientAddress = "198.51.100.2",
        RequestId = NewId("req"),
        TokenId = NewId("tok"),
        Detail = "detail text",
        Actor = "access_key:pat_contract (ci runner)",
    };

    protected static AutoApprovePolicy NewPolicy(string ownerId, DateTimeOffset createdAt, string? id = null) => new()
    {
        Id = id ?? NewId("pol"),
        OwnerId = ownerId,
        Name = "CI jobs",
        AppName = "ci-bot",
        Providers = ["openai", "anthropic"],
        Models = ["gpt-4o-mini"],
        Capabilities = ["chat", "embeddings"],
        MaxLimits = new Limits { DailySpendMicros = 2_000_000, RequestsPerMinute = 10 },
        MaxDays = 7,
        Enabled = true,
        CreatedAt = createdAt,
    };

    protected static PersonalAccessKey NewAccessKey(string ownerId, DateTimeOffset createdAt) => new()
    {
        Id = NewId("pat"),
        OwnerId = ownerId,
        Name = "laptop",
        Hash = Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N"),
        DisplayPrefix = "okap_pat_abc",
        CreatedAt = createdAt,
        ExpiresAt = createdAt.AddDays(90),
    };

    protected static MasterKeyInfo NewKeyInfo(string ownerId, string provider, DateTimeOffset at) => new()
    {
        OwnerId = ownerId,
        Provider = provider,
        Label = "personal",
        Last4 = "wxyz",
        BaseUrl = provider == "ollama" ? "http://localhost:11434" : null,
        AuthKind = MasterKeyAuthKinds.Key,
        CreatedAt = at,
        UpdatedAt = at,
    };

    /// <summary>Deep, value-based comparison (lists by content, instants by UTC value).</summary>
    protected static void AssertEquivalent<T>(T expected, T? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(JsonSerializer.Serialize(expected, CompareOptions), JsonSerializer.Serialize(actual, CompareOptions));
    }

    private static async Task<List<T>> ReadAllPagesAsync<T>(Func<string?, Task<Page<T>>> page, int maxPages = 100)
    {
        var all = new List<T>();
        string? token = null;
        for (var n = 0; n < maxPages; n++)
        {
            var current = await page(token);
            all.AddRange(current.Items);
            token = current.ContinuationToken;
            if (token is null) return all;
        }
        throw new InvalidOperationException("Paging did not end.");
    }

    private sealed class UtcInstantConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
    }

    // ───────────────────────────── owners ─────────────────────────────

    [Fact]
    public async Task Owner_CreateWithAccount_GetFindAndAccountRoundTrip()
    {
        var owner = new Owner(NewOwnerId(), NewId("slug").ToLowerInvariant(), "Ada Lovelace", T0);
        var account = new LocalAccount { OwnerId = owner.Id, UserName = NewId("user").ToLowerInvariant(), PasswordHash = "AQAAAAIAAYagAAAAE-hash" };

        await Stores.Owners.CreateOwnerAsync(owner, account, Ct);

        Assert.Equal(owner, await Stores.Owners.GetOwnerAsync(owner.Id, Ct));
        Assert.Equal(owner, await Stores.Owners.FindOwnerBySlugAsync(owner.Slug, Ct));
        var found = await Stores.Owners.FindAccountAsync(account.UserName, Ct);
        Assert.Equal(account, found);
    }

    [Fact]
    public async Task Owner_CreateWithoutAccount_AndUnknownLookupsReturnNull()
    {
        var owner = new Owner(NewOwnerId(), NewId("slug").ToLowerInvariant(), "No Password", T0);
        await Stores.Owners.CreateOwnerAsync(owner, null, Ct);

        Assert.Equal(owner, await Stores.Owners.GetOwnerAsync(owner.Id, Ct));
        Assert.Null(await Stores.Owners.GetOwnerAsync(NewOwnerId(), Ct));
        Assert.Null(await Stores.Owners.FindOwnerBySlugAsync(NewId("nobody").ToLowerInvariant(), Ct));
        Assert.Null(await Stores.Owners.FindAccountAsync(NewId("nouser").ToLowerInvariant(), Ct));
    }

    [Fact]
    public async Task Owner_Count_GrowsWithEachOwner()
    {
        var before = await Stores.Owners.CountOwnersAsync(Ct);
        await Stores.Owners.CreateOwnerAsync(new Owner(NewOwnerId(), NewId("s").ToLowerInvariant(), "One", T0), null, Ct);
        await Stores.Owners.CreateOwnerAsync(new Owner(NewOwnerId(), NewId("s").ToLowerInvariant(), "Two", T0), null, Ct);
        var after = await Stores.Owners.CountOwnersAsync(Ct);
        Assert.True(after >= before + 2, $"count went from {before} to {after}");
    }

    [Fact]
    public async Task Account_Update_changes_the_password_hash()
    {
        var owner = new Owner(NewOwnerId(), NewId("slug").ToLowerInvariant(), "Renamed", T0);
        var account = new LocalAccount { OwnerId = owner.Id, UserName = NewId("user").ToLowerInvariant(), PasswordHash = "hash-1" };
        await Stores.Owners.CreateOwnerAsync(owner, account, Ct);

        var changed = account with { PasswordHash = "hash-2" };
        await Stores.Owners.UpdateAccountAsync(changed, Ct);
        Assert.Equal(changed, await Stores.Owners.FindAccountAsync(account.UserName, Ct));
    }

    // ---------- sign-in state and throttling ----------

    [Fact]
    public async Task SignInState_is_written_once_then_only_by_whoever_names_the_current_version()
    {
        var owner = NewOwnerId();
        Assert.Null(await Stores.SignIn.ReadStateAsync(owner, Ct));
        Assert.True(await Stores.SignIn.TryWriteStateAsync(owner, "{\"v\":1}", null, Ct));
        Assert.False(await Stores.SignIn.TryWriteStateAsync(owner, "{\"v\":\"lost\"}", null, Ct));
        var first = await Stores.SignIn.ReadStateAsync(owner, Ct);
        Assert.Equal("{\"v\":1}", first!.Json);

        Assert.True(await Stores.SignIn.TryWriteStateAsync(owner, "{\"v\":2}", first.Version, Ct));
        Assert.False(await Stores.SignIn.TryWriteStateAsync(owner, "{\"v\":\"stale\"}", first.Version, Ct));
        var second = await Stores.SignIn.ReadStateAsync(owner, Ct);
        Assert.Equal("{\"v\":2}", second!.Json);
        Assert.NotEqual(first.Version, second.Version);
        Assert.Null(await Stores.SignIn.ReadStateAsync(NewOwnerId(), Ct));
    }

    [Fact]
    public async Task SignInState_concurrent_writers_on_one_version_exactly_one_wins()
    {
        var owner = NewOwnerId();
        await Stores.SignIn.TryWriteStateAsync(owner, "{}", null, Ct);
        var version = (await Stores.SignIn.ReadStateAsync(owner, Ct))!.Version;
        var wins = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Stores.SignIn.TryWriteStateAsync(owner, $"{{\"w\":{i}}}", version, Ct)));
        Assert.Single(wins, w => w);
    }

    [Fact]
    public async Task SignIn_failures_count_atomically_per_address_and_start_again_in_a_new_window()
    {
        var address = NewId("203.0.113");
        var window = T0;
        var counts = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Stores.SignIn.CountFailureAsync(address, window, Ct)));
        Assert.Equal(Enumerable.Range(1, 20), counts.Order());
        Assert.Equal(20, await Stores.SignIn.ReadFailuresAsync(address, window, Ct));
        Assert.Equal(0, await Stores.SignIn.ReadFailuresAsync(NewId("198.51.100"), window, Ct));

        var next = window.AddMinutes(15);
        Assert.Equal(0, await Stores.SignIn.ReadFailuresAsync(address, next, Ct));
        Assert.Equal(1, await Stores.SignIn.CountFailureAsync(address, next, Ct));
        Assert.Equal(0, await Stores.SignIn.ReadFailuresAsync(address, window, Ct));
        Assert.Equal(1, await Stores.SignIn.CountFailureAsync("2001:db8:1:2::/64", next, Ct));
    }

    [Fact]
    public async Task ExternalLogin_CreateAndFind_SecondCreateWithSameLoginReturnsFalse()
    {
        var issuer = "https://login.example/" + Guid.NewGuid().ToString("N");
        var subject = NewId("sub");
        var first = new Owner(NewOwnerId(), NewId("slug").ToLowerInvariant(), "First", T0);
        var second = new Owner(NewOwnerId(), NewId("slug").ToLowerInvariant(), "Second", T0);

        Assert.Null(await Stores.Owners.FindExternalLoginAsync(issuer, subject, Ct));
        Assert.True(await Stores.Owners.CreateOwnerWithExternalLoginAsync(first, new ExternalLogin(issuer, subject, first.Id), Ct));
        Assert.Equal(first.Id, await Stores.Owners.FindExternalLoginAsync(issuer, subject, Ct));
        Assert.Equal(first, await Stores.Owners.GetOwnerAsync(first.Id, Ct));

        Assert.False(await Stores.Owners.CreateOwnerWithExternalLoginAsync(second, new ExternalLogin(issuer, subject, second.Id), Ct));
        Assert.Equal(first.Id, await Stores.Owners.FindExternalLoginAsync(issuer, subject, Ct));

        // Same subject at another issuer is a different login.
        Assert.Null(await Stores.Owners.FindExternalLoginAsync(issuer + "/other", subject, Ct));
    }

    // ───────────────────────────── requests ─────────────────────────────

    [Fact]
    public async Task Request_CreateThenGet_RoundTripsEveryFieldWithAStamp()
    {
        var owner = NewOwnerId();
        var request = NewRequest(owner, T0) with
        {
            Granted = [SampleGrant("openai") with { Models = ["gpt-4o-mini"] }],
            Status = RequestStatus.Approved,
            DecidedAt = T0.AddSeconds(30),
            DecidedBy = "owner",
            TokenId = NewId("tok"),
            ClaimedAt = T0.AddSeconds(31),
        };
        await Stores.Requests.CreateAsync(request, Ct);

        var stored = await Stores.Requests.GetAsync(owner, request.Id, Ct);
        Assert.NotNull(stored);
        Assert.False(string.IsNullOrEmpty(stored.ConcurrencyStamp));
        AssertEquivalent(request, stored with { ConcurrencyStamp = null });
        Assert.Null(await Stores.Requests.GetAsync(owner, NewId("req"), Ct));
    }

    [Fact]
    public async Task Request_MinimalFields_RoundTrip()
    {
        var owner = NewOwnerId();
        var request = new AccessRequest
        {
            Id = NewId("req"),
            OwnerId = owner,
            Shape = RequestShape.Sdk,
            AppName = "bare",
            Requested = [new Grant("openai", [], [], Limits.None, null)],
            Status = RequestStatus.Pending,
            CreatedAt = T0,
            ExpiresAt = T0.AddMinutes(5),
        };
        await Stores.Requests.CreateAsync(request, Ct);
        var stored = await Stores.Requests.GetAsync(owner, request.Id, Ct);
        Assert.NotNull(stored);
        AssertEquivalent(request, stored with { ConcurrencyStamp = null });
    }

    [Fact]
    public async Task Request_List_NewestFirst_WithPagingAndStatusFilter()
    {
        var owner = NewOwnerId();
        var created = new List<AccessRequest>();
        for (var i = 0; i < 5; i++)
        {
            var r = NewRequest(owner, T0.AddMinutes(i), i % 2 == 0 ? RequestStatus.Pending : RequestStatus.Denied);
            created.Add(r);
            await Stores.Requests.CreateAsync(r, Ct);
        }
        var newestFirst = created.OrderByDescending(r => r.CreatedAt).Select(r => r.Id).ToList();

        var page1 = await Stores.Requests.ListAsync(owner, null, 2, null, Ct);
        Assert.Equal(newestFirst.Take(2), page1.Items.Select(r => r.Id));
        Assert.NotNull(page1.ContinuationToken);
        var page2 = await Stores.Requests.ListAsync(owner, null, 2, page1.ContinuationToken, Ct);
        Assert.Equal(newestFirst.Skip(2).Take(2), page2.Items.Select(r => r.Id));
        Assert.NotNull(page2.ContinuationToken);
        var page3 = await Stores.Requests.ListAsync(owner, null, 2, page2.ContinuationToken, Ct);
        Assert.Equal(newestFirst.Skip(4), page3.Items.Select(r => r.Id));
        Assert.Null(page3.ContinuationToken);

        var all = await Stores.Requests.ListAsync(owner, null, 50, null, Ct);
        Assert.Equal(newestFirst, all.Items.Select(r => r.Id));
        Assert.Null(all.ContinuationToken);
        // Listings may leave ConcurrencyStamp empty: callers GetAsync a request before TryUpdateAsync.
        AssertEquivalent(created[4], all.Items[0] with { ConcurrencyStamp = null });

        var pending = await ReadAllPagesAsync(t => Stores.Requests.ListAsync(owner, RequestStatus.Pending, 1, t, Ct));
        Assert.Equal(created.Where(r => r.Status == RequestStatus.Pending).OrderByDescending(r => r.CreatedAt).Select(r => r.Id), pending.Select(r => r.Id));
        var denied = await Stores.Requests.ListAsync(owner, RequestStatus.Denied, 10, null, Ct);
        Assert.Equal(2, denied.Items.Count);
        Assert.All(denied.Items, r => Assert.Equal(RequestStatus.Denied, r.Status));
        Assert.Empty((await Stores.Requests.ListAsync(owner, RequestStatus.Approved, 10, null, Ct)).Items);
    }

    [Fact]
    public async Task Request_List_SameCreatedAt_PagesWithoutDuplicatesOrGaps()
    {
        var owner = NewOwnerId();
        var ids = new HashSet<string>();
        for (var i = 0; i < 7; i++)
        {
            var r = NewRequest(owner, T0);
            ids.Add(r.Id);
            await Stores.Requests.CreateAsync(r, Ct);
        }
        var listed = await ReadAllPagesAsync(t => Stores.Requests.ListAsync(owner, null, 3, t, Ct));
        Assert.Equal(7, listed.Count);
        Assert.Equal(ids.OrderBy(x => x, StringComparer.Ordinal), listed.Select(r => r.Id).OrderBy(x => x, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Request_TryUpdate_SucceedsWithCurrentStamp_AndStaleStampLoses()
    {
        var owner = NewOwnerId();
        var request = NewRequest(owner, T0);
        await Stores.Requests.CreateAsync(request, Ct);
        var read = (await Stores.Requests.GetAsync(owner, request.Id, Ct))!;

        var approved = read with
        {
            Status = RequestStatus.Approved,
            Granted = [SampleGrant("openai")],
            DecidedAt = T0.AddMinutes(1),
            DecidedBy = "owner",
        };
        Assert.True(await Stores.Requests.TryUpdateAsync(approved, Ct));

        var after = (await Stores.Requests.GetAsync(owner, request.Id, Ct))!;
        Assert.NotEqual(read.ConcurrencyStamp, after.ConcurrencyStamp);
        AssertEquivalent(approved with { ConcurrencyStamp = null }, after with { ConcurrencyStamp = null });

        // Same (now stale) stamp again: loses and changes nothing.
        Assert.False(await Stores.Requests.TryUpdateAsync(read with { Status = RequestStatus.Denied, DenyReason = "late" }, Ct));
        var unchanged = (await Stores.Requests.GetAsync(owner, request.Id, Ct))!;
        Assert.Equal(RequestStatus.Approved, unchanged.Status);
        Assert.Equal(after.ConcurrencyStamp, unchanged.ConcurrencyStamp);

        // A fresh stamp works again.
        Assert.True(await Stores.Requests.TryUpdateAsync(unchanged with { TokenId = "tok_x", ClaimedAt = T0.AddMinutes(2) }, Ct));
        Assert.Equal("tok_x", (await Stores.Requests.GetAsync(owner, request.Id, Ct))!.TokenId);
    }

    [Fact]
    public async Task Request_TryUpdate_TwoConcurrentUpdatesFromSameStamp_ExactlyOneWins()
    {
        for (var round = 0; round < 5; round++)
        {
            var owner = NewOwnerId();
            var request = NewRequest(owner, T0);
            await Stores.Requests.CreateAsync(request, Ct);
            var read = (await Stores.Requests.GetAsync(owner, request.Id, Ct))!;

            var approve = read with { Status = RequestStatus.Approved, DecidedBy = "owner", DecidedAt = T0.AddSeconds(1) };
            var deny = read with { Status = RequestStatus.Denied, DecidedBy = "owner", DecidedAt = T0.AddSeconds(2), DenyReason = "no" };
            var results = await Task.WhenAll(
                Task.Run(() => Stores.Requests.TryUpdateAsync(approve, Ct)),
                Task.Run(() => Stores.Requests.TryUpdateAsync(deny, Ct)));

            Assert.Single(results, r => r);
            var final = (await Stores.Requests.GetAsync(owner, request.Id, Ct))!;
            Assert.Equal(results[0] ? RequestStatus.Approved : RequestStatus.Denied, final.Status);
        }
    }

    [Fact]
    public async Task Request_TryUpdate_UnknownRequestReturnsFalse()
    {
        var owner = NewOwnerId();
        var request = NewRequest(owner, T0);
        await Stores.Requests.CreateAsync(request, Ct);
        var read = (await Stores.Requests.GetAsync(owner, request.Id, Ct))!;
        Assert.False(await Stores.Requests.TryUpdateAsync(read with { Id = NewId("req") }, Ct));
    }

    // ───────────────────────────── tokens ─────────────────────────────

    [Fact]
    public async Task Token_Create_FindByHash_AndGet_RoundTrip()
    {
        var owner = NewOwnerId();
        var token = NewToken(owner, T0);
        await Stores.Tokens.CreateAsync(token, Ct);

        AssertEquivalent(token, await Stores.Tokens.FindByHashAsync(token.Hash, Ct));
        AssertEquivalent(token, await Stores.Tokens.GetAsync(owner, token.Id, Ct));
        Assert.Null(await Stores.Tokens.FindByHashAsync(Guid.NewGuid().ToString("N"), Ct));
        Assert.Null(await Stores.Tokens.GetAsync(owner, NewId("tok"), Ct));
    }

    [Fact]
    public async Task Token_MinimalFields_RoundTrip()
    {
        var owner = NewOwnerId();
        var token = new TokenRecord
        {
            Id = NewId("tok"),
            Hash = Guid.NewGuid().ToString("N"),
            OwnerId = owner,
            AppName = "bare",
            DisplayPrefix = "okap_x",
            Grants = [new Grant("openai", [], [], Limits.None, null)],
            CreatedAt = T0,
        };
        await Stores.Tokens.CreateAsync(token, Ct);
        AssertEquivalent(token, await Stores.Tokens.FindByHashAsync(token.Hash, Ct));
    }

    [Fact]
    public async Task Token_List_NewestFirst_WithPaging()
    {
        var owner = NewOwnerId();
        var created = new List<TokenRecord>();
        for (var i = 0; i < 5; i++)
        {
            var t = NewToken(owner, T0.AddSeconds(i * 7));
            created.Add(t);
            await Stores.Tokens.CreateAsync(t, Ct);
        }
        var expected = created.OrderByDescending(t => t.CreatedAt).Select(t => t.Id).ToList();

        var first = await Stores.Tokens.ListAsync(owner, 3, null, Ct);
        Assert.Equal(expected.Take(3), first.Items.Select(t => t.Id));
        Assert.NotNull(first.ContinuationToken);
        var second = await Stores.Tokens.ListAsync(owner, 3, first.ContinuationToken, Ct);
        Assert.Equal(expected.Skip(3), second.Items.Select(t => t.Id));
        Assert.Null(second.ContinuationToken);

        // A page that exactly fits may still carry a token, but then the next page is empty and final.
        var exact = await Stores.Tokens.ListAsync(owner, 5, null, Ct);
        Assert.Equal(expected, exact.Items.Select(t => t.Id));
        AssertEquivalent(created[4], exact.Items[0]);
        if (exact.ContinuationToken is not null)
        {
            var rest = await Stores.Tokens.ListAsync(owner, 5, exact.ContinuationToken, Ct);
            Assert.Empty(rest.Items);
            Assert.Null(rest.ContinuationToken);
        }
    }

    [Fact]
    public async Task Token_Revoke_IsIdempotentAndKeepsFirstRevokedAt()
    {
        var owner = NewOwnerId();
        var token = NewToken(owner, T0);
        await Stores.Tokens.CreateAsync(token, Ct);

        var first = await Stores.Tokens.RevokeAsync(owner, token.Id, T0.AddHours(1), Ct);
        Assert.NotNull(first);
        Assert.Equal(T0.AddHours(1), first.RevokedAt);

        var second = await Stores.Tokens.RevokeAsync(owner, token.Id, T0.AddHours(2), Ct);
        Assert.NotNull(second);
        Assert.Equal(T0.AddHours(1), second.RevokedAt);
        Assert.Equal(T0.AddHours(1), (await Stores.Tokens.FindByHashAsync(token.Hash, Ct))!.RevokedAt);

        Assert.Null(await Stores.Tokens.RevokeAsync(owner, NewId("tok"), T0, Ct));
    }

    [Fact]
    public async Task Token_ReplaceGrants_AppliesOnlyOverWhatTheOwnerSaw_AndTheDataPlaneSeesIt()
    {
        var owner = NewOwnerId();
        var token = NewToken(owner, T0);
        await Stores.Tokens.CreateAsync(token, Ct);
        IReadOnlyList<Grant> narrowed = [token.Grants[0] with { Models = ["gpt-4o-mini"] }];

        var after = await Stores.Tokens.ReplaceGrantsAsync(owner, token.Id, token.Grants, narrowed, T0.AddHours(5), Ct);
        Assert.NotNull(after);
        Assert.Equal(["gpt-4o-mini"], Assert.Single(after.Grants).Models);
        Assert.Equal(T0.AddHours(5), after.ExpiresAt);
        foreach (var read in new[] { await Stores.Tokens.FindByHashAsync(token.Hash, Ct), await Stores.Tokens.GetAsync(owner, token.Id, Ct),
            (await Stores.Tokens.ListAsync(owner, 10, null, Ct)).Items.Single() })
        {
            Assert.Equal(["gpt-4o-mini"], Assert.Single(read!.Grants).Models);
            Assert.Equal(T0.AddHours(5), read.ExpiresAt);
        }

        // A second change made against the grants as they were before the first is not applied.
        IReadOnlyList<Grant> stale = [token.Grants[1]];
        var refused = await Stores.Tokens.ReplaceGrantsAsync(owner, token.Id, token.Grants, stale, T0.AddHours(1), Ct);
        Assert.Equal("openai", Assert.Single(refused!.Grants).Provider);
        Assert.Equal("openai", Assert.Single((await Stores.Tokens.FindByHashAsync(token.Hash, Ct))!.Grants).Provider);

        Assert.Null(await Stores.Tokens.ReplaceGrantsAsync(owner, NewId("tok"), token.Grants, narrowed, null, Ct));
        Assert.Null(await Stores.Tokens.ReplaceGrantsAsync(NewOwnerId(), token.Id, token.Grants, narrowed, null, Ct));
    }

    [Fact]
    public async Task Token_Touch_RaisesButNeverLowersLastUsedAt()
    {
        var owner = NewOwnerId();
        var token = NewToken(owner, T0);
        await Stores.Tokens.CreateAsync(token, Ct);
        Assert.Null((await Stores.Tokens.GetAsync(owner, token.Id, Ct))!.LastUsedAt);

        await Stores.Tokens.TouchAsync(owner, token.Id, T0.AddMinutes(5), Ct);
        Assert.Equal(T0.AddMinutes(5), (await Stores.Tokens.GetAsync(owner, token.Id, Ct))!.LastUsedAt);

        await Stores.Tokens.TouchAsync(owner, token.Id, T0.AddMinutes(3), Ct);
        Assert.Equal(T0.AddMinutes(5), (await Stores.Tokens.GetAsync(owner, token.Id, Ct))!.LastUsedAt);

        await Stores.Tokens.TouchAsync(owner, token.Id, T0.AddMinutes(9), Ct);
        Assert.Equal(T0.AddMinutes(9), (await Stores.Tokens.FindByHashAsync(token.Hash, Ct))!.LastUsedAt);

        // Touching an unknown token is a no-op.
        await Stores.Tokens.TouchAsync(owner, NewId("tok"), T0, Ct);
    }

    [Fact]
    public async Task Token_Delete_RemovesIt()
    {
        var owner = NewOwnerId();
        var keep = NewToken(owner, T0);
        var drop = NewToken(owner, T0.AddSeconds(1));
        await Stores.Tokens.CreateAsync(keep, Ct);
        await Stores.Tokens.CreateAsync(drop, Ct);

        await Stores.Tokens.DeleteAsync(owner, drop.Id, Ct);

        Assert.Null(await Stores.Tokens.GetAsync(owner, drop.Id, Ct));
        Assert.Null(await Stores.Tokens.FindByHashAsync(drop.Hash, Ct));
        Assert.NotNull(await Stores.Tokens.GetAsync(owner, keep.Id, Ct));
        Assert.Equal([keep.Id], (await Stores.Tokens.ListAsync(owner, 10, null, Ct)).Items.Select(t => t.Id));
        await Stores.Tokens.DeleteAsync(owner, drop.Id, Ct); // again: no-op
    }

    // ───────────────────────────── key metadata ─────────────────────────────

    [Fact]
    public async Task KeyMetadata_Upsert_Get_List_Replace_Delete()
    {
        var owner = NewOwnerId();
        var openai = NewKeyInfo(owner, "openai", T0);
        var ollama = NewKeyInfo(owner, "ollama", T0) with { AuthKind = MasterKeyAuthKinds.None, Label = null };
        await Stores.Keys.UpsertAsync(openai, Ct);
        await Stores.Keys.UpsertAsync(ollama, Ct);

        Assert.Equal(openai, await Stores.Keys.GetAsync(owner, "openai", Ct));
        Assert.Equal(ollama, await Stores.Keys.GetAsync(owner, "ollama", Ct));
        Assert.Null(await Stores.Keys.GetAsync(owner, "anthropic", Ct));
        Assert.Equal(["ollama", "openai"], (await Stores.Keys.ListAsync(owner, Ct)).Select(k => k.Provider).Order(StringComparer.Ordinal));

        var replaced = openai with { Last4 = "abcd", Label = "work", UpdatedAt = T0.AddDays(1), BaseUrl = "https://proxy.example/v1" };
        await Stores.Keys.UpsertAsync(replaced, Ct);
        Assert.Equal(replaced, await Stores.Keys.GetAsync(owner, "openai", Ct));
        Assert.Equal(2, (await Stores.Keys.ListAsync(owner, Ct)).Count);

        Assert.True(await Stores.Keys.DeleteAsync(owner, "openai", Ct));
        Assert.False(await Stores.Keys.DeleteAsync(owner, "openai", Ct));
        Assert.Null(await Stores.Keys.GetAsync(owner, "openai", Ct));
        Assert.Equal(ollama, Assert.Single(await Stores.Keys.ListAsync(owner, Ct)));
    }

    // ───────────────────────────── price overrides ─────────────────────────────

    private static PriceOverride NewPrice(string ownerId, string provider, string model, DateTimeOffset at) =>
        new(ownerId, provider, model, new ModelPrice(2_500_000, 1_250_000, 10_000_000, 16_384), at);

    [Fact]
    public async Task PriceOverride_Upsert_List_Replace_Delete()
    {
        var owner = NewOwnerId();
        Assert.Empty(await Stores.Prices.ListAsync(owner, Ct));

        var gpt = NewPrice(owner, "openai", "gpt-4o", T0);
        var slashed = NewPrice(owner, "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", T0.AddMinutes(1))
            with { Price = new ModelPrice(880_000, null, 880_000) }; // no cached price, no ceiling
        var anthropic = NewPrice(owner, "anthropic", "gpt-4o", T0.AddMinutes(2)); // same model name, other provider: another row
        await Stores.Prices.UpsertAsync(gpt, Ct);
        await Stores.Prices.UpsertAsync(slashed, Ct);
        await Stores.Prices.UpsertAsync(anthropic, Ct);

        var listed = await Stores.Prices.ListAsync(owner, Ct);
        Assert.Equal(3, listed.Count);
        Assert.Equal(gpt, Assert.Single(listed, p => p.Provider == "openai"));
        Assert.Equal(slashed, Assert.Single(listed, p => p.Provider == "together"));
        Assert.Equal(anthropic, Assert.Single(listed, p => p.Provider == "anthropic"));

        var replaced = gpt with { Price = new ModelPrice(1, 0, 2, null), UpdatedAt = T0.AddDays(1) };
        await Stores.Prices.UpsertAsync(replaced, Ct);
        listed = await Stores.Prices.ListAsync(owner, Ct);
        Assert.Equal(3, listed.Count);
        Assert.Equal(replaced, Assert.Single(listed, p => p.Provider == "openai"));

        Assert.True(await Stores.Prices.DeleteAsync(owner, "openai", "gpt-4o", Ct));
        Assert.False(await Stores.Prices.DeleteAsync(owner, "openai", "gpt-4o", Ct));
        Assert.False(await Stores.Prices.DeleteAsync(owner, "openai", "GPT-4o", Ct)); // model names are case-sensitive
        Assert.True(await Stores.Prices.DeleteAsync(owner, "together", slashed.Model, Ct));
        Assert.Equal(anthropic, Assert.Single(await Stores.Prices.ListAsync(owner, Ct)));
    }

    [Fact]
    public async Task PriceOverride_WildcardModel_IsItsOwnRow()
    {
        var owner = NewOwnerId();
        var any = NewPrice(owner, "ollama", "*", T0) with { Price = ModelPrice.Free };
        var one = NewPrice(owner, "ollama", "llama3:8b", T0);
        await Stores.Prices.UpsertAsync(any, Ct);
        await Stores.Prices.UpsertAsync(one, Ct);
        Assert.Equal(2, (await Stores.Prices.ListAsync(owner, Ct)).Count);

        Assert.True(await Stores.Prices.DeleteAsync(owner, "ollama", "*", Ct));
        Assert.Equal(one, Assert.Single(await Stores.Prices.ListAsync(owner, Ct)));
        Assert.False(await Stores.Prices.DeleteAsync(owner, "ollama", "*", Ct));
    }

    [Fact]
    public async Task PriceOverride_OwnersAreIsolated()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        var mine = NewPrice(a, "openai", "gpt-4o", T0);
        await Stores.Prices.UpsertAsync(mine, Ct);

        Assert.Empty(await Stores.Prices.ListAsync(b, Ct));
        Assert.False(await Stores.Prices.DeleteAsync(b, "openai", "gpt-4o", Ct));

        // The same (provider, model) for the other owner is a separate row: writing it leaves the first untouched.
        var theirs = NewPrice(b, "openai", "gpt-4o", T0.AddHours(1)) with { Price = new ModelPrice(9, 9, 9, 9) };
        await Stores.Prices.UpsertAsync(theirs, Ct);
        Assert.Equal(mine, Assert.Single(await Stores.Prices.ListAsync(a, Ct)));
        Assert.Equal(theirs, Assert.Single(await Stores.Prices.ListAsync(b, Ct)));

        Assert.True(await Stores.Prices.DeleteAsync(b, "openai", "gpt-4o", Ct));
        Assert.Equal(mine, Assert.Single(await Stores.Prices.ListAsync(a, Ct)));
    }

    // ───────────────────────────── policies ─────────────────────────────

    [Fact]
    public async Task Policy_Upsert_Get_List_Replace_Delete()
    {
        var owner = NewOwnerId();
        var first = NewPolicy(owner, T0);
        var second = NewPolicy(owner, T0.AddMinutes(1)) with { AppName = null, Models = [], Capabilities = [], MaxLimits = Limits.None, MaxDays = null, Enabled = false };
        await Stores.Policies.UpsertAsync(first, Ct);
        await Stores.Policies.UpsertAsync(second, Ct);

        AssertEquivalent(first, await Stores.Policies.GetAsync(owner, first.Id, Ct));
        AssertEquivalent(second, await Stores.Policies.GetAsync(owner, second.Id, Ct));
        Assert.Null(await Stores.Policies.GetAsync(owner, NewId("pol"), Ct));
        var listed = await Stores.Policies.ListAsync(owner, Ct);
        Assert.Equal(new[] { first.Id, second.Id }.Order(StringComparer.Ordinal), listed.Select(p => p.Id).Order(StringComparer.Ordinal));

        var updated = first with { Name = "renamed", Providers = ["gemini"], MaxLimits = new Limits { MonthlySpendMicros = 1 }, Enabled = false };
        await Stores.Policies.UpsertAsync(updated, Ct);
        AssertEquivalent(updated, await Stores.Policies.GetAsync(owner, first.Id, Ct));
        Assert.Equal(2, (await Stores.Policies.ListAsync(owner, Ct)).Count);

        Assert.True(await Stores.Policies.DeleteAsync(owner, first.Id, Ct));
        Assert.False(await Stores.Policies.DeleteAsync(owner, first.Id, Ct));
        Assert.Null(await Stores.Policies.GetAsync(owner, first.Id, Ct));
        Assert.Equal(second.Id, Assert.Single(await Stores.Policies.ListAsync(owner, Ct)).Id);
    }

    // ───────────────────────────── access keys ─────────────────────────────

    [Fact]
    public async Task AccessKey_Create_FindByHash_List_RevokeIdempotent()
    {
        var owner = NewOwnerId();
        var older = NewAccessKey(owner, T0);
        var newer = NewAccessKey(owner, T0.AddDays(1)) with { ExpiresAt = null };
        await Stores.AccessKeys.CreateAsync(older, Ct);
        await Stores.AccessKeys.CreateAsync(newer, Ct);

        Assert.Equal(older, await Stores.AccessKeys.FindByHashAsync(older.Hash, Ct));
        Assert.Equal(newer, await Stores.AccessKeys.FindByHashAsync(newer.Hash, Ct));
        Assert.Null(await Stores.AccessKeys.FindByHashAsync(Guid.NewGuid().ToString("N"), Ct));
        Assert.Equal(new[] { newer.Id, older.Id }.Order(StringComparer.Ordinal), (await Stores.AccessKeys.ListAsync(owner, Ct)).Select(k => k.Id).Order(StringComparer.Ordinal));

        Assert.True(await Stores.AccessKeys.RevokeAsync(owner, older.Id, T0.AddDays(2), Ct));
        Assert.True(await Stores.AccessKeys.RevokeAsync(owner, older.Id, T0.AddDays(3), Ct));
        Assert.Equal(T0.AddDays(2), (await Stores.AccessKeys.FindByHashAsync(older.Hash, Ct))!.RevokedAt);
        Assert.Null((await Stores.AccessKeys.FindByHashAsync(newer.Hash, Ct))!.RevokedAt);
        Assert.False(await Stores.AccessKeys.RevokeAsync(owner, NewId("pat"), T0, Ct));
    }

    [Fact]
    public async Task AccessKey_keeps_scopes_marks_last_use_on_both_lookups_and_reads_a_key_without_scopes_as_legacy()
    {
        var owner = NewOwnerId();
        var scoped = NewAccessKey(owner, T0) with { Scopes = [AccessKeyScopes.Read, AccessKeyScopes.Keys] };
        var legacy = NewAccessKey(owner, T0.AddSeconds(1));
        await Stores.AccessKeys.CreateAsync(scoped, Ct);
        await Stores.AccessKeys.CreateAsync(legacy, Ct);

        Assert.Equal(["read", "keys"], (await Stores.AccessKeys.FindByHashAsync(scoped.Hash, Ct))!.Scopes);
        var old = (await Stores.AccessKeys.FindByHashAsync(legacy.Hash, Ct))!;
        Assert.Null(old.Scopes);
        Assert.Equal(AccessKeyScopes.Legacy, old.EffectiveScopes);
        Assert.Null(old.LastUsedAt);

        await Stores.AccessKeys.MarkUsedAsync(scoped, T0.AddHours(1), Ct);
        Assert.Equal(T0.AddHours(1), (await Stores.AccessKeys.FindByHashAsync(scoped.Hash, Ct))!.LastUsedAt);
        var listed = (await Stores.AccessKeys.ListAsync(owner, Ct)).Single(k => k.Id == scoped.Id);
        Assert.Equal(T0.AddHours(1), listed.LastUsedAt);
        Assert.Equal(["read", "keys"], listed.Scopes);
        Assert.Null((await Stores.AccessKeys.ListAsync(owner, Ct)).Single(k => k.Id == legacy.Id).LastUsedAt);

        // Marking use never undoes a revocation.
        Assert.True(await Stores.AccessKeys.RevokeAsync(owner, scoped.Id, T0.AddHours(2), Ct));
        await Stores.AccessKeys.MarkUsedAsync(scoped, T0.AddHours(3), Ct);
        Assert.Equal(T0.AddHours(2), (await Stores.AccessKeys.FindByHashAsync(scoped.Hash, Ct))!.RevokedAt);
    }

    // ───────────────────────────── usage ─────────────────────────────

    [Fact]
    public async Task Usage_Add_CreatesAndIncrements_GetAndListByPeriodKind()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var other = UsageKeys.Grant(NewId("tok"), "anthropic");
        var day = UsageKeys.Day(T0);
        var prevDay = UsageKeys.Day(T0.AddDays(-1));
        var month = UsageKeys.Month(T0);

        await Stores.Usage.AddAsync(
        [
            new UsageCounter(owner, grant, day, 1, 100, 200, 1500),
            new UsageCounter(owner, grant, month, 1, 100, 200, 1500),
            new UsageCounter(owner, grant, prevDay, 3, 1, 2, 3),
            new UsageCounter(owner, other, day, 2, 10, 20, 30),
        ], Ct);
        await Stores.Usage.AddAsync(
        [
            new UsageCounter(owner, grant, day, 1, 50, 25, 500),
            new UsageCounter(owner, grant, month, 1, 50, 25, 500),
        ], Ct);
        await Stores.Usage.AddAsync([], Ct);

        var got = await Stores.Usage.GetAsync(owner, grant, [day, month, UsageKeys.Day(T0.AddDays(5))], Ct);
        Assert.Equal(2, got.Count);
        Assert.Contains(new UsageCounter(owner, grant, day, 2, 150, 225, 2000), got);
        Assert.Contains(new UsageCounter(owner, grant, month, 2, 150, 225, 2000), got);
        Assert.Empty(await Stores.Usage.GetAsync(owner, grant, [], Ct));

        var days = await Stores.Usage.ListAsync(owner, day, Ct);
        Assert.Equal(2, days.Count);
        Assert.All(days, c => Assert.Equal(day, c.Period));
        Assert.Contains(new UsageCounter(owner, other, day, 2, 10, 20, 30), days);

        var allDays = await Stores.Usage.ListAsync(owner, prevDay, Ct);
        Assert.Equal(3, allDays.Count);
        Assert.All(allDays, c => Assert.StartsWith("d:", c.Period, StringComparison.Ordinal));

        var months = await Stores.Usage.ListAsync(owner, UsageKeys.Month(T0.AddMonths(-1)), Ct);
        Assert.Equal(new UsageCounter(owner, grant, month, 2, 150, 225, 2000), Assert.Single(months));
        Assert.Empty(await Stores.Usage.ListAsync(owner, UsageKeys.Month(T0.AddMonths(1)), Ct));
    }

    [Fact]
    public async Task Usage_SameCounterTwiceInOneBatch_AddsBoth()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        await Stores.Usage.AddAsync([new UsageCounter(owner, grant, day, 1, 1, 1, 1), new UsageCounter(owner, grant, day, 1, 2, 3, 4)], Ct);
        Assert.Equal(new UsageCounter(owner, grant, day, 2, 3, 4, 5), Assert.Single(await Stores.Usage.GetAsync(owner, grant, [day], Ct)));
    }

    [Fact]
    public async Task Usage_FiftyParallelAdds_SumExactly()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        var month = UsageKeys.Month(T0);

        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => Stores.Usage.AddAsync(
        [
            new UsageCounter(owner, grant, day, 1, 10, 20, 1_000 + i),
            new UsageCounter(owner, grant, month, 1, 10, 20, 1_000 + i),
        ], Ct))));

        var expectedCost = Enumerable.Range(0, 50).Sum(i => 1_000L + i);
        var counters = await Stores.Usage.GetAsync(owner, grant, [day, month], Ct);
        Assert.Equal(2, counters.Count);
        Assert.Contains(new UsageCounter(owner, grant, day, 50, 500, 1000, expectedCost), counters);
        Assert.Contains(new UsageCounter(owner, grant, month, 50, 500, 1000, expectedCost), counters);
    }

    // ──────────────────────── exactly-once usage batches ────────────────────────

    [Fact]
    public async Task UsageBatch_ReplayOfTheSameWriterAndSeq_AddsNothing_AndWritersAreIndependent()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        var month = UsageKeys.Month(T0);
        var writer = NewId("inst");
        UsageCounter[] Deltas(long cost) => [new(owner, grant, day, 1, 10, 20, cost), new(owner, grant, month, 1, 10, 20, cost)];

        await Stores.Usage.AddBatchAsync(new UsageBatch(writer, 1, Deltas(100)), Ct);
        await Stores.Usage.AddBatchAsync(new UsageBatch(writer, 1, Deltas(100)), Ct); // its reply was lost: sent again
        await Stores.Usage.AddBatchAsync(new UsageBatch(writer, 2, Deltas(7)), Ct);
        await Stores.Usage.AddBatchAsync(new UsageBatch(writer, 1, Deltas(100)), Ct); // an older batch, late
        await Stores.Usage.AddBatchAsync(new UsageBatch(writer, 2, Deltas(7)), Ct);
        await Stores.Usage.AddBatchAsync(new UsageBatch(NewId("inst"), 1, Deltas(1000)), Ct); // another process starts at 1

        var got = await Stores.Usage.GetAsync(owner, grant, [day, month], Ct);
        Assert.Contains(new UsageCounter(owner, grant, day, 3, 30, 60, 1107), got);
        Assert.Contains(new UsageCounter(owner, grant, month, 3, 30, 60, 1107), got);
        // The writer's marks are not usage: listings show counters only.
        Assert.Equal(new UsageCounter(owner, grant, day, 3, 30, 60, 1107), Assert.Single(await Stores.Usage.ListAsync(owner, day, Ct)));
    }

    [Fact]
    public async Task UsageBatch_OverSeveralOwners_IsCountedOnceForEach_WhenReplayed()
    {
        var (a, b) = (NewOwnerId(), NewOwnerId());
        var grantA = UsageKeys.Grant(NewId("tok"), "openai");
        var grantB = UsageKeys.Grant(NewId("tok"), "anthropic");
        var day = UsageKeys.Day(T0);
        var batch = new UsageBatch(NewId("inst"), 5, [new(a, grantA, day, 2, 1, 1, 50), new(b, grantB, day, 3, 1, 1, 60)]);

        await Stores.Usage.AddBatchAsync(batch, Ct);
        await Stores.Usage.AddBatchAsync(batch, Ct);

        Assert.Equal(new UsageCounter(a, grantA, day, 2, 1, 1, 50), Assert.Single(await Stores.Usage.GetAsync(a, grantA, [day], Ct)));
        Assert.Equal(new UsageCounter(b, grantB, day, 3, 1, 1, 60), Assert.Single(await Stores.Usage.GetAsync(b, grantB, [day], Ct)));
    }

    [Fact]
    public async Task UsageBatch_ParallelWritersEachRetryingEveryBatch_SumExactly()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        await Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            var writer = NewId("inst");
            for (var seq = 1; seq <= 4; seq++)
            {
                var batch = new UsageBatch(writer, seq, [new UsageCounter(owner, grant, day, 1, 0, 0, 10 * w + seq)]);
                await Stores.Usage.AddBatchAsync(batch, Ct);
                await Stores.Usage.AddBatchAsync(batch, Ct);
            }
        })));
        var cost = Enumerable.Range(0, 6).Sum(w => Enumerable.Range(1, 4).Sum(seq => 10L * w + seq));
        Assert.Equal(new UsageCounter(owner, grant, day, 24, 0, 0, cost), Assert.Single(await Stores.Usage.GetAsync(owner, grant, [day], Ct)));
    }

    [Fact]
    public async Task UsageBatch_ForgetWriter_DropsItsMarks_AndAnUnknownWriterIsHarmless()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        var writer = NewId("inst");
        var batch = new UsageBatch(writer, 1, [new UsageCounter(owner, grant, day, 1, 0, 0, 5)]);
        await Stores.Usage.AddBatchAsync(batch, Ct);

        await Stores.Usage.ForgetWriterAsync(writer, [owner, NewOwnerId()], Ct);
        await Stores.Usage.ForgetWriterAsync(NewId("inst"), [owner], Ct);

        // Forgotten: the store no longer recognises the batch (which is why only a writer that is done may be forgotten).
        await Stores.Usage.AddBatchAsync(batch, Ct);
        Assert.Equal(new UsageCounter(owner, grant, day, 2, 0, 0, 10), Assert.Single(await Stores.Usage.GetAsync(owner, grant, [day], Ct)));
    }

    [Fact]
    public async Task UsageBatch_SweepWriters_ForgetsMarksSilentPastTheCutOff_AndKeepsThoseWrittenSince()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        var crashed = NewId("inst");
        var live = NewId("inst");
        var crashedBatch = new UsageBatch(crashed, 1, [new UsageCounter(owner, grant, day, 1, 0, 0, 5)]);
        var liveFirst = new UsageBatch(live, 1, [new UsageCounter(owner, grant, day, 1, 0, 0, 5)]);
        await Stores.Usage.AddBatchAsync(crashedBatch, Ct);
        await Stores.Usage.AddBatchAsync(liveFirst, Ct);
        Clock.Advance(TimeSpan.FromDays(10));
        var liveSecond = new UsageBatch(live, 2, [new UsageCounter(owner, grant, day, 1, 0, 0, 5)]);
        await Stores.Usage.AddBatchAsync(liveSecond, Ct);

        Assert.Equal(1, await Stores.Usage.SweepWritersAsync(Clock.GetUtcNow() - TimeSpan.FromDays(7), 100, Ct));
        Assert.Equal(0, await Stores.Usage.SweepWritersAsync(Clock.GetUtcNow() - TimeSpan.FromDays(7), 100, Ct));

        // The live writer is still recognised: its retries add nothing.
        await Stores.Usage.AddBatchAsync(liveFirst, Ct);
        await Stores.Usage.AddBatchAsync(liveSecond, Ct);
        Assert.Equal(3, Assert.Single(await Stores.Usage.GetAsync(owner, grant, [day], Ct)).Requests);
        // The swept writer is not: a batch of it arriving now is written as new (why the retention must outlast any retry).
        await Stores.Usage.AddBatchAsync(crashedBatch, Ct);
        Assert.Equal(4, Assert.Single(await Stores.Usage.GetAsync(owner, grant, [day], Ct)).Requests);

        // Marks written on a later day are found by a later sweep too.
        Clock.Advance(TimeSpan.FromDays(10));
        Assert.Equal(2, await Stores.Usage.SweepWritersAsync(Clock.GetUtcNow() - TimeSpan.FromDays(7), 100, Ct));
    }

    [Fact]
    public async Task UsageBatch_RetriedByAWriterSilentPastTheCutOff_IsStillSkipped_AndTheRetryKeepsItsMark()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        var writer = NewId("inst");
        var committed = new UsageBatch(writer, 1, [new UsageCounter(owner, grant, day, 1, 0, 0, 5)]);
        await Stores.Usage.AddBatchAsync(committed, Ct);
        Clock.Advance(TimeSpan.FromDays(10));

        // Old enough to sweep, but not swept yet: the retry is recognised, and it renews the mark.
        await Stores.Usage.AddBatchAsync(committed, Ct);
        Assert.Equal(0, await Stores.Usage.SweepWritersAsync(Clock.GetUtcNow() - TimeSpan.FromDays(7), 100, Ct));
        await Stores.Usage.AddBatchAsync(committed, Ct);
        Assert.Equal(new UsageCounter(owner, grant, day, 1, 0, 0, 5), Assert.Single(await Stores.Usage.GetAsync(owner, grant, [day], Ct)));

        // A batch that never committed, sent after its writer's mark was swept, is counted once and then recognised.
        Clock.Advance(TimeSpan.FromDays(10));
        Assert.Equal(1, await Stores.Usage.SweepWritersAsync(Clock.GetUtcNow() - TimeSpan.FromDays(7), 100, Ct));
        var late = new UsageBatch(writer, 2, [new UsageCounter(owner, grant, day, 1, 0, 0, 5)]);
        await Stores.Usage.AddBatchAsync(late, Ct);
        await Stores.Usage.AddBatchAsync(late, Ct);
        Assert.Equal(new UsageCounter(owner, grant, day, 2, 0, 0, 10), Assert.Single(await Stores.Usage.GetAsync(owner, grant, [day], Ct)));
    }

    [Fact]
    public async Task UsageBatch_SweepWriters_IsBoundedByItsMaximum()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        for (var i = 0; i < 5; i++) await Stores.Usage.AddBatchAsync(new UsageBatch(NewId("inst"), 1, [new UsageCounter(owner, grant, day, 1, 0, 0, 5)]), Ct);
        Clock.Advance(TimeSpan.FromDays(10));

        var cutOff = Clock.GetUtcNow() - TimeSpan.FromDays(7);
        Assert.Equal(2, await Stores.Usage.SweepWritersAsync(cutOff, 2, Ct));
        Assert.Equal(3, await Stores.Usage.SweepWritersAsync(cutOff, 100, Ct));
        Assert.Equal(0, await Stores.Usage.SweepWritersAsync(cutOff, 100, Ct));
    }

    // ───────────────────────────── budget leases ─────────────────────────────

    [Fact]
    public async Task Lease_Write_IsConditionalOnTheVersionRead()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        Assert.Null(await Stores.Usage.ReadLeaseAsync(owner, grant, Ct));

        var v1 = await Stores.Usage.TryWriteLeaseAsync(owner, grant, """{"daySpent":1}""", null, Ct);
        Assert.NotNull(v1);
        Assert.Null(await Stores.Usage.TryWriteLeaseAsync(owner, grant, """{"daySpent":99}""", null, Ct)); // "only if none" lost
        var v2 = await Stores.Usage.TryWriteLeaseAsync(owner, grant, """{"daySpent":2}""", v1, Ct);
        Assert.NotNull(v2);
        Assert.NotEqual(v1, v2);
        Assert.Null(await Stores.Usage.TryWriteLeaseAsync(owner, grant, """{"daySpent":98}""", v1, Ct)); // stale version lost

        var read = await Stores.Usage.ReadLeaseAsync(owner, grant, Ct);
        Assert.Equal("""{"daySpent":2}""", read!.Json);
        Assert.Equal(v2, read.Version);
        // Other owners and grants have their own documents; lease documents are not usage counters.
        Assert.Null(await Stores.Usage.ReadLeaseAsync(NewOwnerId(), grant, Ct));
        Assert.Null(await Stores.Usage.ReadLeaseAsync(owner, UsageKeys.Grant(NewId("tok"), "openai"), Ct));
        Assert.Empty(await Stores.Usage.ListAsync(owner, UsageKeys.Day(T0.AddYears(-10)), Ct));
    }

    [Fact]
    public async Task Lease_ConcurrentWritesFromOneVersion_ExactlyOneWins()
    {
        var owner = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var v1 = await Stores.Usage.TryWriteLeaseAsync(owner, grant, "{}", null, Ct);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => Stores.Usage.TryWriteLeaseAsync(owner, grant, $$"""{"daySpent":{{i}}}""", v1, Ct))));
        Assert.Single(results, r => r is not null);
    }

    [Fact]
    public async Task Lease_OfAnInstanceThatStoppedRenewing_IsReclaimedAfterExpiryAndCountsAsSpent()
    {
        var owner = NewOwnerId();
        var token = NewId("tok");
        var grant = UsageKeys.Grant(token, "openai");
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0);
        var options = new Okap.Core.Metering.BudgetLeaseOptions { Duration = TimeSpan.FromSeconds(30) };
        var limits = new Limits { DailySpendMicros = 100_000 };

        // One instance takes a lease, spends from it and dies without giving it back.
        var dead = new Okap.Core.Metering.BudgetLedger(time, options);
        await dead.EnsureReadyAsync(owner, token, "openai", limits, 1_000, Stores.Usage, Ct);
        var first = dead.TryReserve(owner, token, "openai", limits, 1_000);
        Assert.True(first.Ok, first.Refused.ToString());
        var held = Holder(await Stores.Usage.ReadLeaseAsync(owner, grant, Ct), dead.HolderId);
        Assert.InRange(held, 1_000, 50_000); // a slice, never the whole budget

        // Another instance may take only what the dead lease leaves, until the lease expires.
        var live = new Okap.Core.Metering.BudgetLedger(time, options);
        var worst = 100_000 - held + 1;
        await live.EnsureReadyAsync(owner, token, "openai", limits, worst, Stores.Usage, Ct);
        Assert.Equal(Okap.Core.Metering.LimitKind.DailySpend, live.TryReserve(owner, token, "openai", limits, worst).Refused);

        time.Advance(TimeSpan.FromSeconds(31));
        await live.EnsureReadyAsync(owner, token, "openai", limits, 10, Stores.Usage, Ct);
        var afterExpiry = live.TryReserve(owner, token, "openai", limits, 10);
        Assert.True(afterExpiry.Ok, afterExpiry.Refused + " " + (await Stores.Usage.ReadLeaseAsync(owner, grant, Ct))!.Json);
        var doc = System.Text.Json.Nodes.JsonNode.Parse((await Stores.Usage.ReadLeaseAsync(owner, grant, Ct))!.Json)!;
        Assert.Null(doc["holders"]?[dead.HolderId]);
        Assert.Equal(held, doc["daySpent"]!.GetValue<long>()); // counted as spent: stricter, never looser
    }

    private static long Holder(LeaseDocument? doc, string holder) =>
        System.Text.Json.Nodes.JsonNode.Parse(doc!.Json)!["holders"]![holder]!["micros"]!.GetValue<long>();

    // ───────────────────────────── audit ─────────────────────────────

    [Fact]
    public async Task Audit_List_NewestFirst_WithPaging()
    {
        var owner = NewOwnerId();
        var entries = new List<AuditEvent>();
        for (var i = 0; i < 7; i++)
        {
            var e = NewAudit(owner, T0.AddSeconds(i));
            entries.Add(e);
            await Stores.Audit.AppendAsync(e, Ct);
        }
        var expected = entries.OrderByDescending(e => e.At).Select(e => e.Id).ToList();

        var first = await Stores.Audit.ListAsync(owner, new AuditQuery(PageSize: 3), Ct);
        Assert.Equal(expected.Take(3), first.Items.Select(e => e.Id));
        AssertEquivalent(entries[6], first.Items[0]);
        Assert.NotNull(first.ContinuationToken);

        var all = await ReadAllPagesAsync(t => Stores.Audit.ListAsync(owner, new AuditQuery(PageSize: 3, ContinuationToken: t), Ct));
        Assert.Equal(expected, all.Select(e => e.Id));
    }

    [Fact]
    public async Task Audit_List_FiltersByAppAndEvent()
    {
        var owner = NewOwnerId();
        await Stores.Audit.AppendAsync(NewAudit(owner, T0, AuditEvents.RequestCreated, "alpha"), Ct);
        await Stores.Audit.AppendAsync(NewAudit(owner, T0.AddSeconds(1), AuditEvents.TokenIssued, "alpha"), Ct);
        await Stores.Audit.AppendAsync(NewAudit(owner, T0.AddSeconds(2), AuditEvents.RequestCreated, "beta"), Ct);
        await Stores.Audit.AppendAsync(NewAudit(owner, T0.AddSeconds(3), AuditEvents.KeySet, null), Ct);
        await Stores.Audit.AppendAsync(NewAudit(owner, T0.AddSeconds(4), AuditEvents.TokenUsed, "alpha"), Ct);

        var alpha = await Stores.Audit.ListAsync(owner, new AuditQuery(AppName: "alpha"), Ct);
        Assert.Equal([AuditEvents.TokenUsed, AuditEvents.TokenIssued, AuditEvents.RequestCreated], alpha.Items.Select(e => e.Event));
        Assert.Null(alpha.ContinuationToken);

        var created = await Stores.Audit.ListAsync(owner, new AuditQuery(Event: AuditEvents.RequestCreated), Ct);
        Assert.Equal(["beta", "alpha"], created.Items.Select(e => e.AppName));

        var both = await Stores.Audit.ListAsync(owner, new AuditQuery(AppName: "beta", Event: AuditEvents.RequestCreated), Ct);
        Assert.Single(both.Items);
        Assert.Empty((await Stores.Audit.ListAsync(owner, new AuditQuery(AppName: "gamma"), Ct)).Items);

        var pagedAlpha = await ReadAllPagesAsync(t => Stores.Audit.ListAsync(owner, new AuditQuery(PageSize: 1, ContinuationToken: t, AppName: "alpha"), Ct));
        Assert.Equal(alpha.Items.Select(e => e.Id), pagedAlpha.Select(e => e.Id));
    }

    [Fact]
    public async Task Audit_List_FindsTextInAnyField_InAnyCase_AcrossPages()
    {
        var owner = NewOwnerId();
        var expected = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var e = NewAudit(owner, T0.AddSeconds(i), app: i % 4 == 0 ? "Needle Notes" : "other") with { Detail = i == 5 ? "found a NEEDLE here" : "plain" };
            await Stores.Audit.AppendAsync(e, Ct);
            if (i % 4 == 0 || i == 5) expected.Insert(0, e.Id);
        }
        await Stores.Audit.AppendAsync(NewAudit(NewOwnerId(), T0, app: "Needle Notes"), Ct); // another owner's

        var all = await ReadAllPagesAsync(t => Stores.Audit.ListAsync(owner, new AuditQuery(PageSize: 2, ContinuationToken: t, Text: "needle"), Ct));
        Assert.Equal(expected, all.Select(e => e.Id));
        var withEvent = await Stores.Audit.ListAsync(owner, new AuditQuery(Event: AuditEvents.TokenUsed, Text: "NOTES"), Ct);
        Assert.Equal(3, withEvent.Items.Count);
        Assert.Empty((await Stores.Audit.ListAsync(owner, new AuditQuery(Text: "haystack"), Ct)).Items);
    }

    // ───────────────────────────── owner isolation ─────────────────────────────

    [Fact]
    public async Task Isolation_Requests_OtherOwnerCannotGetListOrUpdate()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        var request = NewRequest(a, T0);
        await Stores.Requests.CreateAsync(request, Ct);
        var read = (await Stores.Requests.GetAsync(a, request.Id, Ct))!;

        Assert.Null(await Stores.Requests.GetAsync(b, request.Id, Ct));
        Assert.Empty((await Stores.Requests.ListAsync(b, null, 50, null, Ct)).Items);
        Assert.Empty((await Stores.Requests.ListAsync(b, RequestStatus.Pending, 50, null, Ct)).Items);
        Assert.False(await Stores.Requests.TryUpdateAsync(read with { OwnerId = b, Status = RequestStatus.Approved }, Ct));
        Assert.Equal(RequestStatus.Pending, (await Stores.Requests.GetAsync(a, request.Id, Ct))!.Status);
    }

    [Fact]
    public async Task Isolation_Tokens_OtherOwnerCannotGetListRevokeTouchOrDelete()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        var token = NewToken(a, T0);
        await Stores.Tokens.CreateAsync(token, Ct);

        Assert.Null(await Stores.Tokens.GetAsync(b, token.Id, Ct));
        Assert.Empty((await Stores.Tokens.ListAsync(b, 50, null, Ct)).Items);
        Assert.Null(await Stores.Tokens.RevokeAsync(b, token.Id, T0.AddHours(1), Ct));
        await Stores.Tokens.TouchAsync(b, token.Id, T0.AddHours(1), Ct);
        await Stores.Tokens.DeleteAsync(b, token.Id, Ct);

        var stored = await Stores.Tokens.GetAsync(a, token.Id, Ct);
        AssertEquivalent(token, stored);
        Assert.Null(stored!.RevokedAt);
        Assert.Null(stored.LastUsedAt);
    }

    [Fact]
    public async Task Isolation_KeyMetadata_OtherOwnerCannotGetListOrDelete()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        await Stores.Keys.UpsertAsync(NewKeyInfo(a, "openai", T0), Ct);

        Assert.Null(await Stores.Keys.GetAsync(b, "openai", Ct));
        Assert.Empty(await Stores.Keys.ListAsync(b, Ct));
        Assert.False(await Stores.Keys.DeleteAsync(b, "openai", Ct));

        // B's own key of the same provider is a separate record.
        await Stores.Keys.UpsertAsync(NewKeyInfo(b, "openai", T0) with { Last4 = "bbbb" }, Ct);
        Assert.Equal("wxyz", (await Stores.Keys.GetAsync(a, "openai", Ct))!.Last4);
        Assert.Equal("bbbb", (await Stores.Keys.GetAsync(b, "openai", Ct))!.Last4);
    }

    [Fact]
    public async Task Isolation_Policies_OtherOwnerCannotGetListOrDelete()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        var policy = NewPolicy(a, T0);
        await Stores.Policies.UpsertAsync(policy, Ct);

        Assert.Null(await Stores.Policies.GetAsync(b, policy.Id, Ct));
        Assert.Empty(await Stores.Policies.ListAsync(b, Ct));
        Assert.False(await Stores.Policies.DeleteAsync(b, policy.Id, Ct));
        AssertEquivalent(policy, await Stores.Policies.GetAsync(a, policy.Id, Ct));
    }

    [Fact]
    public async Task Isolation_AccessKeys_OtherOwnerCannotListOrRevoke()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        var key = NewAccessKey(a, T0);
        await Stores.AccessKeys.CreateAsync(key, Ct);

        Assert.Empty(await Stores.AccessKeys.ListAsync(b, Ct));
        Assert.False(await Stores.AccessKeys.RevokeAsync(b, key.Id, T0.AddDays(1), Ct));
        Assert.Null((await Stores.AccessKeys.FindByHashAsync(key.Hash, Ct))!.RevokedAt);
    }

    [Fact]
    public async Task Isolation_Usage_OtherOwnerSeesNothing()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        var grant = UsageKeys.Grant(NewId("tok"), "openai");
        var day = UsageKeys.Day(T0);
        await Stores.Usage.AddAsync([new UsageCounter(a, grant, day, 1, 2, 3, 4)], Ct);

        Assert.Empty(await Stores.Usage.GetAsync(b, grant, [day], Ct));
        Assert.Empty(await Stores.Usage.ListAsync(b, UsageKeys.Day(T0.AddDays(-30)), Ct));

        // B adding to "the same" grant key creates B's own counter, leaving A's alone.
        await Stores.Usage.AddAsync([new UsageCounter(b, grant, day, 10, 10, 10, 10)], Ct);
        Assert.Equal(new UsageCounter(a, grant, day, 1, 2, 3, 4), Assert.Single(await Stores.Usage.GetAsync(a, grant, [day], Ct)));
    }

    [Fact]
    public async Task Isolation_Audit_OtherOwnerSeesNothing()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        await Stores.Audit.AppendAsync(NewAudit(a, T0, AuditEvents.TokenIssued, "alpha"), Ct);

        Assert.Empty((await Stores.Audit.ListAsync(b, new AuditQuery(), Ct)).Items);
        Assert.Empty((await Stores.Audit.ListAsync(b, new AuditQuery(AppName: "alpha"), Ct)).Items);
        Assert.Empty((await Stores.Audit.ListAsync(b, new AuditQuery(Event: AuditEvents.TokenIssued), Ct)).Items);
        Assert.Single((await Stores.Audit.ListAsync(a, new AuditQuery(), Ct)).Items);
    }

    [Fact]
    public async Task Isolation_ContinuationTokenFromOneOwnerDoesNotRevealAnother()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        for (var i = 0; i < 3; i++)
        {
            await Stores.Tokens.CreateAsync(NewToken(a, T0.AddSeconds(i)), Ct);
            await Stores.Requests.CreateAsync(NewRequest(a, T0.AddSeconds(i)), Ct);
            await Stores.Audit.AppendAsync(NewAudit(a, T0.AddSeconds(i)), Ct);
        }
        var tokenPage = await Stores.Tokens.ListAsync(a, 1, null, Ct);
        var requestPage = await Stores.Requests.ListAsync(a, null, 1, null, Ct);
        var auditPage = await Stores.Audit.ListAsync(a, new AuditQuery(PageSize: 1), Ct);

        // Another owner's token is either refused (ArgumentException) or yields only that owner's (no) rows.
        await AssertEmptyOrRefusedAsync(() => Stores.Tokens.ListAsync(b, 10, tokenPage.ContinuationToken, Ct));
        await AssertEmptyOrRefusedAsync(() => Stores.Requests.ListAsync(b, null, 10, requestPage.ContinuationToken, Ct));
        await AssertEmptyOrRefusedAsync(() => Stores.Audit.ListAsync(b, new AuditQuery(PageSize: 10, ContinuationToken: auditPage.ContinuationToken), Ct));
    }

    private static async Task AssertEmptyOrRefusedAsync<T>(Func<Task<Page<T>>> list)
    {
        Page<T> page;
        try
        {
            page = await list();
        }
        catch (ArgumentException)
        {
            return;
        }
        Assert.Empty(page.Items);
    }

    [Fact]
    public async Task Isolation_Secrets_OtherOwnerCannotReadOrDelete()
    {
        var a = NewOwnerId();
        var b = NewOwnerId();
        var secret = "sk-" + Guid.NewGuid().ToString("N");
        await Secrets.SetAsync(a, "openai", secret, Ct);

        Assert.Null(await Secrets.GetAsync(b, "openai", Ct));
        await Secrets.DeleteAsync(b, "openai", Ct);
        Assert.Equal(secret, await Secrets.GetAsync(a, "openai", Ct));
    }

    // ───────────────────────────── secrets ─────────────────────────────

    [Fact]
    public async Task Secret_Set_Replace_Get_Delete_RoundTrip()
    {
        var owner = NewOwnerId();
        var first = "sk-proj-" + Guid.NewGuid().ToString("N");
        var second = "sk-ant-" + Guid.NewGuid().ToString("N") + "-ünïcødé";

        Assert.Null(await Secrets.GetAsync(owner, "openai", Ct));
        await Secrets.SetAsync(owner, "openai", first, Ct);
        await Secrets.SetAsync(owner, "anthropic", second, Ct);
        Assert.Equal(first, await Secrets.GetAsync(owner, "openai", Ct));
        Assert.Equal(second, await Secrets.GetAsync(owner, "anthropic", Ct));

        var replacement = "sk-proj-" + Guid.NewGuid().ToString("N");
        await Secrets.SetAsync(owner, "openai", replacement, Ct);
        Assert.Equal(replacement, await Secrets.GetAsync(owner, "openai", Ct));

        await Secrets.DeleteAsync(owner, "openai", Ct);
        Assert.Null(await Secrets.GetAsync(owner, "openai", Ct));
        Assert.Equal(second, await Secrets.GetAsync(owner, "anthropic", Ct));
        await Secrets.DeleteAsync(owner, "openai", Ct); // again: no-op
    }

    [Fact]
    public async Task Secret_StoredValue_IsNotTheSecretInClear()
    {
        var owner = NewOwnerId();
        var secret = "sk-live-" + Guid.NewGuid().ToString("N");
        await Secrets.SetAsync(owner, "openai", secret, Ct);

        var stored = await ReadStoredSecretAsync(owner, "openai");
        if (stored is not null)
        {
            Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
            Assert.DoesNotContain(secret[8..], stored, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(secret)), stored, StringComparison.Ordinal);
        }
        Assert.Equal(secret, await Secrets.GetAsync(owner, "openai", Ct));
    }
}
