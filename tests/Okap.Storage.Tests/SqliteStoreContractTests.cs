using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Storage.Sqlite;

namespace Okap.Storage.Tests;

/// <summary>One temporary folder for the contract tests' SQLite databases, and the Data Protection keys they share.</summary>
public sealed class SqliteDatabaseFixture : IDisposable
{
    public SqliteDatabaseFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "okap-sqlite-tests", Guid.NewGuid().ToString("N"));
        DataProtection = KeyRings.InFolder(Path.Combine(Directory, "keys"));
    }

    public string Directory { get; }
    public IDataProtectionProvider DataProtection { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class SqliteStoreContractTests(SqliteDatabaseFixture fixture) : VaultStoreContract, IClassFixture<SqliteDatabaseFixture>
{
    // A database of each test's own: the store's clock is the test's.
    private SqliteVaultStores? _stores;

    protected override Task<IVaultStores> CreateStoresAsync() => Task.FromResult<IVaultStores>(
        _stores = new SqliteVaultStores(new SqliteStoreOptions { DataDirectory = Path.Combine(fixture.Directory, Guid.NewGuid().ToString("N")) }, time: Clock));

    protected override Task DisposeStoresAsync(IVaultStores stores)
    {
        ((SqliteVaultStores)stores).Dispose();
        return Task.CompletedTask;
    }

    protected override ISecretStore CreateSecretStore(IVaultStores stores) =>
        new DataProtectionSecretStore((SqliteVaultStores)stores, fixture.DataProtection);

    protected override async Task<string?> ReadStoredSecretAsync(string ownerId, string provider)
    {
        await using var connection = new SqliteConnection(_stores!.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT owner_id || '|' || provider || '|' || ciphertext || '|' || updated_at FROM master_key_secrets WHERE owner_id = @o AND provider = @p;";
        command.Parameters.AddWithValue("@o", ownerId);
        command.Parameters.AddWithValue("@p", provider);
        return (string?)await command.ExecuteScalarAsync();
    }
}
