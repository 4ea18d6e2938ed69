using Azure.Identity;
using Okap.Core;
using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Storage.Azure.KeyVault;
using Okap.Storage.Azure.Tables;

namespace Okap.Storage.Azure.Tests;

/// <summary>
/// Against real Azure resources, authenticated with <see cref="DefaultAzureCredential"/>. Run only when
/// <c>OKAP_LIVE_TABLE_URI</c> / <c>OKAP_LIVE_KEYVAULT_URI</c> are set; otherwise reported as skipped with the reason.
/// </summary>
public sealed class LiveAzureTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    [LiveFact(LiveFactAttribute.TableUriVariable)]
    public async Task Live_table_storage_round_trip()
    {
        var stores = AzureTableVaultStores.Create(new AzureStorageOptions
        {
            TableServiceUri = Environment.GetEnvironmentVariable(LiveFactAttribute.TableUriVariable),
            TablePrefix = "okaplive" + Guid.NewGuid().ToString("N")[..8],
        }, new DefaultAzureCredential());
        await stores.InitializeAsync(Ct);
        try
        {
            var now = DateTimeOffset.UtcNow;
            var token = new TokenRecord
            {
                Id = "tok_live", Hash = Secrets.Hash(Secrets.NewToken()), OwnerId = "own_live", AppName = "live", DisplayPrefix = "okap_live",
                Grants = [new Grant("openai", [], [], Limits.None, null)], CreatedAt = now,
            };
            await stores.Tokens.CreateAsync(token, Ct);
            Assert.Equal("tok_live", (await stores.Tokens.FindByHashAsync(token.Hash, Ct))?.Id);
            await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => stores.Usage.AddAsync([new("own_live", "tok_live:openai", UsageKeys.Day(now), 1, 1, 1, 1)], Ct)));
            Assert.Equal(20, Assert.Single(await stores.Usage.GetAsync("own_live", "tok_live:openai", [UsageKeys.Day(now)], Ct)).Requests);
            Assert.NotNull((await stores.Tokens.RevokeAsync("own_live", "tok_live", now, Ct))?.RevokedAt);
        }
        finally
        {
            await stores.DeleteTablesAsync(Ct);
        }
    }

    [LiveFact(LiveFactAttribute.KeyVaultUriVariable)]
    public async Task Live_key_vault_set_get_replace_delete_and_re_add()
    {
        var store = KeyVaultSecretStore.Create(new AzureStorageOptions
        {
            ConnectionString = "unused",
            KeyVaultUri = Environment.GetEnvironmentVariable(LiveFactAttribute.KeyVaultUriVariable),
            SecretCacheTtl = TimeSpan.Zero,
        }, new DefaultAzureCredential());
        var owner = "own_live_" + Guid.NewGuid().ToString("N")[..8];
        await store.SetAsync(owner, "openai", "live-secret-1", Ct);
        Assert.Equal("live-secret-1", await store.GetAsync(owner, "openai", Ct));
        await store.SetAsync(owner, "openai", "live-secret-2", Ct);
        Assert.Equal("live-secret-2", await store.GetAsync(owner, "openai", Ct));
        await store.DeleteAsync(owner, "openai", Ct);
        await Task.Delay(TimeSpan.FromSeconds(5), Ct); // soft delete completes asynchronously in a real vault
        Assert.Null(await store.GetAsync(owner, "openai", Ct));
        await store.SetAsync(owner, "openai", "live-secret-3", Ct);
        Assert.Equal("live-secret-3", await store.GetAsync(owner, "openai", Ct));
        await store.DeleteAsync(owner, "openai", Ct);
    }
}
