using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Storage.Azure.DataProtection;

namespace Okap.Storage.Azure.Tests;

/// <summary>The local secret store (<c>Okap:Azure:SecretStore=DataProtection</c>) on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class TableSecretStoreTests(AzuriteFixture azurite)
{
    private ServiceProvider Instance(string prefix) => azurite.Instance(prefix, s => s.AddOkapTableSecretStore());

    private static string Prefix() => "s" + Guid.NewGuid().ToString("N")[..10];

    private TableClient Secrets(string prefix) => new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient(prefix + TableDataProtectionSecretStore.TableSuffix);

    [Fact]
    public async Task Keys_round_trip_between_instances_and_are_stored_only_encrypted()
    {
        var prefix = Prefix();
        using var first = Instance(prefix);
        using var second = Instance(prefix);
        var store = first.GetRequiredService<ISecretStore>();
        Assert.IsType<TableDataProtectionSecretStore>(store);

        Assert.Null(await store.GetAsync("own_1", "openai", CancellationToken.None)); // the table is created on first use
        await store.SetAsync("own_1", "openai", "sk-local-secret-store-0001", CancellationToken.None);

        Assert.Equal("sk-local-secret-store-0001", await second.GetRequiredService<ISecretStore>().GetAsync("own_1", "openai", CancellationToken.None));
        var rows = Secrets(prefix).Query<TableEntity>().ToList();
        var row = Assert.Single(rows);
        Assert.DoesNotContain("sk-local-secret-store-0001", string.Join('\n', row.Select(p => p.Value?.ToString())));

        await store.SetAsync("own_1", "openai", "sk-local-secret-store-0002", CancellationToken.None);
        Assert.Equal("sk-local-secret-store-0002", await store.GetAsync("own_1", "openai", CancellationToken.None));
        await store.DeleteAsync("own_1", "openai", CancellationToken.None);
        Assert.Null(await store.GetAsync("own_1", "openai", CancellationToken.None));
        Assert.Empty(Secrets(prefix).Query<TableEntity>());
    }

    [Fact]
    public async Task A_ciphertext_copied_to_another_owner_does_not_decrypt()
    {
        var prefix = Prefix();
        using var instance = Instance(prefix);
        var store = instance.GetRequiredService<ISecretStore>();
        await store.SetAsync("own_alice", "openai", "sk-alice-only-key-0003", CancellationToken.None);
        await store.SetAsync("own_mallory", "openai", "sk-mallory-own-key-0004", CancellationToken.None);

        var table = Secrets(prefix);
        var alice = table.Query<TableEntity>().Single(e => e.PartitionKey.EndsWith("own_alice", StringComparison.Ordinal));
        var mallory = table.Query<TableEntity>().Single(e => e.PartitionKey.EndsWith("own_mallory", StringComparison.Ordinal));
        mallory["Ciphertext"] = alice["Ciphertext"];
        await table.UpdateEntityAsync(mallory, global::Azure.ETag.All, TableUpdateMode.Replace);

        var error = await Assert.ThrowsAsync<VaultUnavailableException>(() => store.GetAsync("own_mallory", "openai", CancellationToken.None));
        Assert.DoesNotContain("sk-", error.Message);
    }

    [Fact]
    public async Task Without_the_key_ring_stored_keys_fail_closed()
    {
        var prefix = Prefix();
        using (var instance = Instance(prefix))
        {
            await instance.GetRequiredService<ISecretStore>().SetAsync("own_1", "openai", "sk-lost-key-ring-0005", CancellationToken.None);
        }
        await new TableServiceClient(azurite.Azurite.ConnectionString).DeleteTableAsync(prefix + "keyring");
        using var fresh = Instance(prefix);
        await Assert.ThrowsAsync<VaultUnavailableException>(() => fresh.GetRequiredService<ISecretStore>().GetAsync("own_1", "openai", CancellationToken.None));
    }
}
