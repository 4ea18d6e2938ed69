using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Policies;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Okap.Storage.Sqlite;

namespace Okap.Storage.Tests;

/// <summary>SQLite-only behaviour: files on disk, schema, pragmas, errors, DI wiring.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "okap-sqlite-tests", Guid.NewGuid().ToString("N"));
    private readonly List<IDisposable> _disposables = [];

    private SqliteVaultStores NewStores(Action<SqliteStoreOptions>? configure = null)
    {
        var options = new SqliteStoreOptions { DataDirectory = _dir };
        configure?.Invoke(options);
        var stores = new SqliteVaultStores(options);
        _disposables.Add(stores);
        return stores;
    }

    public void Dispose()
    {
        foreach (var d in _disposables) d.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static byte[] ReadShared(string path)
    {
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0 ||
        haystack.AsSpan().IndexOf(Encoding.Unicode.GetBytes(needle)) >= 0;

    private string[] DatabaseFiles()
    {
        var db = Path.Combine(_dir, "okap.db");
        return [db, db + "-wal", db + "-shm", db + "-journal"];
    }

    private static TokenRecord TokenFor(string ownerId, string token) => new()
    {
        Id = Okap.Core.Secrets.NewId("tok"),
        Hash = Okap.Core.Secrets.Hash(token),
        OwnerId = ownerId,
        AppName = "scanner",
        DisplayPrefix = Okap.Core.Secrets.DisplayPrefix(token),
        Grants = [new Grant("openai", [], [], Limits.None, null)],
        CreatedAt = T0,
    };

    [Fact]
    public async Task DatabaseFiles_ContainNeitherTokenNorMasterKeyInClear()
    {
        var stores = NewStores();
        await stores.InitializeAsync(default);
        var secrets = new DataProtectionSecretStore(stores, KeyRings.InFolder(Path.Combine(_dir, "keys")));
        var owner = Okap.Core.Secrets.NewId("own");
        var token = Okap.Core.Secrets.NewToken();
        var masterKey = "sk-proj-" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N");
        var record = TokenFor(owner, token);

        await stores.Tokens.CreateAsync(record, default);
        await secrets.SetAsync(owner, "openai", masterKey, default);
        await stores.Keys.UpsertAsync(new MasterKeyInfo
        {
            OwnerId = owner, Provider = "openai", Last4 = Okap.Core.Secrets.Last4(masterKey), CreatedAt = T0, UpdatedAt = T0,
        }, default);
        Assert.Equal(masterKey, await secrets.GetAsync(owner, "openai", default));

        void Scan()
        {
            var all = DatabaseFiles().Select(ReadShared).ToList();
            Assert.Contains(all, bytes => Contains(bytes, record.Hash)); // the scan can see what is stored
            foreach (var bytes in all)
            {
                Assert.False(Contains(bytes, token), "token in clear");
                Assert.False(Contains(bytes, token[Okap.Core.Secrets.DisplayPrefix(token).Length..]), "unshown part of the token");
                Assert.False(Contains(bytes, masterKey), "master key in clear");
                Assert.False(Contains(bytes, masterKey[..^4]), "master key (all but last 4) in clear");
            }
        }

        Scan(); // while open: recent writes live in the -wal file
        stores.Dispose(); // clears this file's connection pool
        Scan(); // after the last connection closed and checkpointed into the main file
    }

    [Fact]
    public async Task Data_folder_and_database_files_are_readable_by_the_vaults_user_alone()
    {
        if (OperatingSystem.IsWindows()) return;
        const UnixFileMode groupAndOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        var stores = NewStores();
        await stores.Tokens.CreateAsync(TokenFor(Okap.Core.Secrets.NewId("own"), Okap.Core.Secrets.NewToken()), default);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir));
        var files = DatabaseFiles().Where(File.Exists).ToList();
        Assert.Contains(Path.Combine(_dir, "okap.db-wal"), files); // the write is in the WAL, whose mode SQLite copies
        foreach (var file in files) Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(file) & groupAndOther);
    }

    [Fact]
    public async Task An_existing_world_readable_data_folder_is_tightened_at_start()
    {
        if (OperatingSystem.IsWindows()) return;
        Directory.CreateDirectory(_dir);
        File.SetUnixFileMode(_dir, (UnixFileMode)Convert.ToInt32("755", 8));
        var db = Path.Combine(_dir, "okap.db");
        await File.WriteAllBytesAsync(db, []);
        File.SetUnixFileMode(db, (UnixFileMode)Convert.ToInt32("644", 8));

        await NewStores().InitializeAsync(default);

        Assert.Equal((UnixFileMode)Convert.ToInt32("700", 8), File.GetUnixFileMode(_dir));
        Assert.Equal((UnixFileMode)Convert.ToInt32("600", 8), File.GetUnixFileMode(db));
    }

    [Fact]
    public void Data_protection_key_folder_is_created_owner_only()
    {
        if (OperatingSystem.IsWindows()) return;
        using var provider = new ServiceCollection().AddLogging().AddOkapSqliteStore(o => o.DataDirectory = _dir).BuildServiceProvider();
        _ = provider.GetRequiredService<IOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>>().Value;

        Assert.Equal((UnixFileMode)Convert.ToInt32("700", 8), File.GetUnixFileMode(Path.Combine(_dir, "keys")));
        Assert.Equal((UnixFileMode)Convert.ToInt32("700", 8), File.GetUnixFileMode(_dir));
    }

    [Fact]
    public async Task Initialize_IsIdempotent_AcrossCallsAndInstances()
    {
        var first = NewStores();
        await first.InitializeAsync(default);
        await first.InitializeAsync(default);
        var second = NewStores();
        await second.InitializeAsync(default);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => NewStores().InitializeAsync(default)));

        await using var connection = new SqliteConnection(first.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), MAX(version) FROM schema_version;";
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(Migrations.All.Count, reader.GetInt32(0));
        Assert.Equal(Migrations.LatestVersion, reader.GetInt32(1));
    }

    [Fact]
    public async Task Operations_InitializeOnFirstUse()
    {
        var stores = NewStores();
        Assert.Equal(0, await stores.Owners.CountOwnersAsync(default));
    }

    [Fact]
    public async Task Database_UsesWalAndForeignKeys()
    {
        var stores = NewStores();
        await stores.InitializeAsync(default);
        await using var connection = new SqliteConnection(stores.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
        command.CommandText = "PRAGMA foreign_keys;";
        Assert.Equal(1L, (long)(await command.ExecuteScalarAsync())!);

        // An account must point at an existing owner.
        await Assert.ThrowsAsync<InvalidOperationException>(() => stores.Owners.UpdateAccountAsync(
            new LocalAccount { OwnerId = "own_missing", UserName = "ghost", PasswordHash = "x" }, default));
    }

    [Fact]
    public async Task Times_RoundTripToTheTick_AsUtc()
    {
        var stores = NewStores();
        var owner = Okap.Core.Secrets.NewId("own");
        var at = new DateTimeOffset(2026, 3, 1, 23, 59, 59, TimeSpan.FromHours(2)).AddTicks(1_234_567);
        var token = TokenFor(owner, Okap.Core.Secrets.NewToken()) with { CreatedAt = at, ExpiresAt = at.AddTicks(1) };
        await stores.Tokens.CreateAsync(token, default);
        var stored = (await stores.Tokens.FindByHashAsync(token.Hash, default))!;
        Assert.Equal(at.UtcTicks, stored.CreatedAt.UtcTicks);
        Assert.Equal(TimeSpan.Zero, stored.CreatedAt.Offset);
        Assert.Equal(at.AddTicks(1).UtcTicks, stored.ExpiresAt!.Value.UtcTicks);
    }

    [Fact]
    public async Task Ciphertext_CopiedToAnotherOwnerOrProvider_DoesNotDecrypt()
    {
        var stores = NewStores();
        var secrets = new DataProtectionSecretStore(stores, new EphemeralDataProtectionProvider());
        var a = Okap.Core.Secrets.NewId("own");
        var b = Okap.Core.Secrets.NewId("own");
        var masterKey = "sk-" + Guid.NewGuid().ToString("N");
        await secrets.SetAsync(a, "openai", masterKey, default);

        await using (var connection = new SqliteConnection(stores.Database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var copy = connection.CreateCommand();
            copy.CommandText = """
                INSERT INTO master_key_secrets (owner_id, provider, ciphertext, updated_at)
                SELECT @b, provider, ciphertext, updated_at FROM master_key_secrets WHERE owner_id = @a AND provider = 'openai';
                INSERT INTO master_key_secrets (owner_id, provider, ciphertext, updated_at)
                SELECT owner_id, 'anthropic', ciphertext, updated_at FROM master_key_secrets WHERE owner_id = @a AND provider = 'openai';
                """;
            copy.Parameters.AddWithValue("@a", a);
            copy.Parameters.AddWithValue("@b", b);
            Assert.Equal(2, await copy.ExecuteNonQueryAsync());
        }

        var moved = await Assert.ThrowsAsync<VaultUnavailableException>(() => secrets.GetAsync(b, "openai", default));
        Assert.DoesNotContain(masterKey, moved.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<VaultUnavailableException>(() => secrets.GetAsync(a, "anthropic", default));
        Assert.Equal(masterKey, await secrets.GetAsync(a, "openai", default));
    }

    [Fact]
    public async Task Secret_FromAnotherKeyRing_FailsClosed()
    {
        var stores = NewStores();
        var owner = Okap.Core.Secrets.NewId("own");
        await new DataProtectionSecretStore(stores, new EphemeralDataProtectionProvider()).SetAsync(owner, "openai", "sk-abc", default);
        var otherRing = new DataProtectionSecretStore(stores, new EphemeralDataProtectionProvider());
        await Assert.ThrowsAsync<VaultUnavailableException>(() => otherRing.GetAsync(owner, "openai", default));
    }

    [Fact]
    public async Task UnreachableDatabase_SurfacesAsVaultUnavailable_OnProxyReadPaths()
    {
        var missing = Path.Combine(_dir, "does-not-exist", "okap.db");
        var stores = NewStores(o => o.ConnectionString = $"Data Source={missing};Mode=ReadWrite");
        var secrets = new DataProtectionSecretStore(stores, new EphemeralDataProtectionProvider());

        var ex = await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Tokens.FindByHashAsync("abc", default));
        Assert.DoesNotContain(missing, ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<VaultUnavailableException>(() => secrets.GetAsync("own_x", "openai", default));
        await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Usage.GetAsync("own_x", "tok:openai", ["d:2026-11-24"], default));
        await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Usage.AddAsync([new UsageCounter("own_x", "tok:openai", "d:2026-11-24", 1, 1, 1, 1)], default));
        await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.InitializeAsync(default));
    }

    [Fact]
    public async Task DataDirectoryThatCannotBeCreated_SurfacesAsVaultUnavailable()
    {
        Directory.CreateDirectory(_dir);
        var file = Path.Combine(_dir, "a-file");
        await File.WriteAllTextAsync(file, "not a folder");
        var stores = NewStores(o => o.DataDirectory = Path.Combine(file, "data"));
        await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Tokens.FindByHashAsync("abc", default));
    }

    [Fact]
    public async Task LockedDatabase_SurfacesAsVaultUnavailable_OnWrite()
    {
        var path = Path.Combine(_dir, "okap.db");
        var stores = NewStores(o =>
        {
            o.ConnectionString = $"Data Source={path};Default Timeout=1";
            o.BusyTimeoutMilliseconds = 50;
        });
        await stores.InitializeAsync(default);

        await using var blocker = new SqliteConnection($"Data Source={path};Pooling=False");
        await blocker.OpenAsync();
        await using (var begin = blocker.CreateCommand())
        {
            begin.CommandText = "BEGIN EXCLUSIVE;";
            await begin.ExecuteNonQueryAsync();
        }
        await Assert.ThrowsAsync<VaultUnavailableException>(() =>
            stores.Usage.AddAsync([new UsageCounter("own_x", "tok:openai", "d:2026-11-24", 1, 1, 1, 1)], default));
        await using (var rollback = blocker.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK;";
            await rollback.ExecuteNonQueryAsync();
        }
        await stores.Usage.AddAsync([new UsageCounter("own_x", "tok:openai", "d:2026-11-24", 1, 1, 1, 1)], default);
    }

    [Fact]
    public async Task TwoStoreInstancesOnOneFile_ParallelUsageAdds_SumExactly()
    {
        var one = NewStores();
        var two = NewStores();
        await one.InitializeAsync(default);
        var owner = Okap.Core.Secrets.NewId("own");
        var delta = new UsageCounter(owner, "tok_1:openai", "d:2026-11-24", 1, 2, 3, 4);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => (i % 2 == 0 ? one : two).Usage.AddAsync([delta], default))));
        Assert.Equal(new UsageCounter(owner, "tok_1:openai", "d:2026-11-24", 40, 80, 120, 160),
            Assert.Single(await one.Usage.GetAsync(owner, "tok_1:openai", ["d:2026-11-24"], default)));
    }

    [Fact]
    public async Task An_invalid_continuation_token_is_an_InvalidContinuationException()
    {
        var stores = NewStores();
        await Assert.ThrowsAsync<Okap.Core.InvalidContinuationException>(() => stores.Tokens.ListAsync("own_x", 10, "not-a-token!", default));
        await Assert.ThrowsAsync<Okap.Core.InvalidContinuationException>(() => stores.Requests.ListAsync("own_x", null, 10, Convert.ToBase64String(Encoding.UTF8.GetBytes("garbage")), default));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => stores.Audit.ListAsync("own_x", new AuditQuery(PageSize: 0), default));
    }

    [Fact]
    public async Task AddOkapSqliteStore_RegistersOneInstanceForEveryInterface_AndPersistsKeyRing()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddOkapSqliteStore(o => o.DataDirectory = _dir);
        await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        provider.GetRequiredService<IStartupValidator>().Validate();

        var stores = provider.GetRequiredService<IVaultStores>();
        Assert.IsType<SqliteVaultStores>(stores);
        Assert.Same(stores, provider.GetRequiredService<SqliteVaultStores>());
        Assert.Same(stores.Owners, provider.GetRequiredService<IOwnerStore>());
        Assert.Same(stores.Requests, provider.GetRequiredService<IRequestStore>());
        Assert.Same(stores.Tokens, provider.GetRequiredService<ITokenStore>());
        Assert.Same(stores.Keys, provider.GetRequiredService<IKeyMetadataStore>());
        Assert.Same(stores.Policies, provider.GetRequiredService<IPolicyStore>());
        Assert.Same(stores.AccessKeys, provider.GetRequiredService<IAccessKeyStore>());
        Assert.Same(stores.Usage, provider.GetRequiredService<IUsageStore>());
        Assert.Same(stores.Audit, provider.GetRequiredService<IAuditStore>());
        Assert.Same(stores.Prices, provider.GetRequiredService<Okap.Core.Pricing.IPriceOverrideStore>());
        var secrets = Assert.IsType<DataProtectionSecretStore>(provider.GetRequiredService<ISecretStore>());
        Assert.Same(secrets, provider.GetRequiredService<ISecretStore>());

        await stores.InitializeAsync(default);
        await secrets.SetAsync("own_di", "openai", "sk-di-test", default);
        Assert.Equal("sk-di-test", await secrets.GetAsync("own_di", "openai", default));
        Assert.True(File.Exists(Path.Combine(_dir, "okap.db")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir, "keys"), "*.xml"));
    }

    [Fact]
    public async Task AddOkapSqliteStore_BindsConfigurationSection()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Okap:Sqlite:DataDirectory"] = _dir,
            ["Okap:Sqlite:FileName"] = "vault.sqlite",
            ["Okap:Sqlite:BusyTimeoutMilliseconds"] = "1234",
        }).Build();
        var services = new ServiceCollection();
        services.AddOkapSqliteStore(config.GetSection("Okap:Sqlite"));
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();

        var options = provider.GetRequiredService<IOptions<SqliteStoreOptions>>().Value;
        Assert.Equal("vault.sqlite", options.FileName);
        Assert.Equal(1234, options.BusyTimeoutMilliseconds);
        await provider.GetRequiredService<IVaultStores>().InitializeAsync(default);
        Assert.True(File.Exists(Path.Combine(_dir, "vault.sqlite")));
    }

    [Fact]
    public void AddOkapSqliteStore_InvalidOptions_FailValidationOnStart()
    {
        var services = new ServiceCollection();
        services.AddOkapSqliteStore(_ => { });
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("DataDirectory", ex.Message, StringComparison.Ordinal);

        var badName = new ServiceCollection();
        badName.AddOkapSqliteStore(o => { o.DataDirectory = _dir; o.FileName = "../escape.db"; });
        using var provider2 = badName.BuildServiceProvider();
        Assert.Throws<OptionsValidationException>(() => provider2.GetRequiredService<IStartupValidator>().Validate());
    }
}
