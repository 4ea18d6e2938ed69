using Azure.Data.Tables;
using Microsoft.AspNetCore.DataProtection;
using Okap.Core.Keys;
using Okap.Storage.DataProtection;
using Okap.Storage.Azure.Tables;

namespace Okap.Storage.Azure.DataProtection;

/// <summary>
/// Master keys encrypted with ASP.NET Core Data Protection and kept in the <c>{prefix}secrets</c> table, with the key
/// ring in <c>{prefix}keyring</c> of the same account: a secret store for local runs on Azurite, where Key Vault has
/// no emulator. Ciphertext and key ring share one account, so this protects against nothing that can read the
/// account: the hosts refuse it on Azure. Each row is protected under a purpose chain ending in its owner and
/// provider, so a ciphertext copied to another row does not decrypt.
/// </summary>
public sealed class TableDataProtectionSecretStore : ISecretStore
{
    /// <summary>Root Data Protection purpose of master keys (both stores share it).</summary>
    public const string Purpose = MasterKeyProtector.Purpose;

    /// <summary>Table-name suffix of the ciphertext table.</summary>
    public const string TableSuffix = "secrets";

    private readonly TableClient _table;
    private readonly MasterKeyProtector _protector;
    private volatile bool _tableExists;

    public TableDataProtectionSecretStore(TableClient table, IDataProtectionProvider dataProtection)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(dataProtection);
        _table = table;
        _protector = new MasterKeyProtector(dataProtection);
    }

    public Task SetAsync(string ownerId, string provider, string secret, CancellationToken ct)
    {
        var ciphertext = _protector.Protect(ownerId, provider, secret);
        return TableGuard.Run(async () =>
        {
            await EnsureTableAsync(ct).ConfigureAwait(false);
            await _table.UpsertEntityAsync(new TableEntity(TableKeys.Owner(ownerId), TableKeys.Escape(provider)) { ["Ciphertext"] = ciphertext },
                TableUpdateMode.Replace, ct).ConfigureAwait(false);
        }, ct);
    }

    public async Task<string?> GetAsync(string ownerId, string provider, CancellationToken ct)
    {
        var ciphertext = await TableGuard.Run(async () =>
        {
            await EnsureTableAsync(ct).ConfigureAwait(false);
            return (await _table.GetAsync(TableKeys.Owner(ownerId), TableKeys.Escape(provider), ct).ConfigureAwait(false))?.GetString("Ciphertext");
        }, ct).ConfigureAwait(false);
        return ciphertext is null ? null : _protector.Unprotect(ownerId, provider, ciphertext);
    }

    public Task DeleteAsync(string ownerId, string provider, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            await EnsureTableAsync(ct).ConfigureAwait(false);
            await _table.DeleteIfExistsAsync(TableKeys.Owner(ownerId), TableKeys.Escape(provider), ct).ConfigureAwait(false);
        }, ct);

    // Created on first use (not by InitializeAsync), so deployments on Key Vault never get a table they do not use;
    // a failed attempt is retried by the next call.
    private async Task EnsureTableAsync(CancellationToken ct)
    {
        if (_tableExists) return;
        await _table.CreateIfNotExistsAsync(ct).ConfigureAwait(false);
        _tableExists = true;
    }
}
