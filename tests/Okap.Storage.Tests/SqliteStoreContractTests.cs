using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Storage.Sqlite;

namespace Okap.Storage.Tests;

/// <summary>One temporary SQLite database shared by every contract test of the class (tests use their own owner ids).</summary>
public sealed class SqliteDatabaseFixture : IDisposable
{
    public SqliteDatabaseFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "okap-sqlite-tests", Guid.NewGuid().ToString("N"));
        Stores = new SqliteVaultStores(new SqliteStoreOptions { DataDirectory = Directory });
        DataProtection = KeyRings.InFolder(Path.Combine(Directory, "keys"));
    }

    public string Directory { get; }
    public SqliteVaultStores Stores { get; }
    public IDataProtectionProvider DataProtection { get; }

    public void Dispose()
    {
        Stores.Dispose();
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
    protected override Task<IVaultStores> CreateStoresAsync() => Task.FromResult<IVaultStores>(fixture.Stores);

    protected override ISecretStore CreateSecretStore(IVaultStores stores) =>
        new DataProtectionSecretStore((SqliteVaultStores)stores, fixture.DataProtection);

    protected override async Task<string?> ReadStoredSecretAsync(string ownerId, string provider)
    {
        await using var connection = new SqliteConnection(fixture.Stores.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT owner_id || '|' || provider || '|' || ciphertext || '|' || updated_at FROM master_key_secrets WHERE owner_id = @o AND provider = @p;";
        command.Parameters.AddWithValue("@o", ownerId);
        command.Parameters.AddWithValue("@p", provider);
        return (string?)await command.ExecuteScalarAsync();
    }
}
