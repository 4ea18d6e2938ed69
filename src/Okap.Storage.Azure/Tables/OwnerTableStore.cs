using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Okap.Core.Accounts;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// Table <c>{prefix}owners</c>. Each lookup key is its own partition, so every read is one point read and
/// uniqueness comes from "insert fails when the row exists":
/// <list type="bullet">
/// <item><c>o|{ownerId}</c> / <c>owner</c>: the owner.</item>
/// <item><c>slug|{slug}</c> / <c>""</c>: unique slug, holds a copy of the owner (slugs never change).</item>
/// <item><c>user|{userName}</c> / <c>""</c>: local account.</item>
/// <item><c>ext|{sha256(issuer, subject)}</c> / <c>""</c>: external login link.</item>
/// </list>
/// </summary>
internal sealed class OwnerTableStore(TableClient table) : IOwnerStore
{
    private const string OwnerRow = "owner";

    public Task CreateOwnerAsync(Owner owner, LocalAccount? account, CancellationToken ct) =>
        TableGuard.Run(() => CreateCoreAsync(owner, account, ct), ct);

    private async Task CreateCoreAsync(Owner owner, LocalAccount? account, CancellationToken ct)
    {
        // Reservation order: slug, then account, then the owner row. A crash in between leaves a reservation
        // that points at this owner id; retrying the same creation succeeds (same id is accepted).
        var slugCreated = await ReserveAsync(ToEntity(owner, SlugKey(owner.Slug), ""), owner.Id, "slug", ct).ConfigureAwait(false);
        try
        {
            if (account is not null)
            {
                if (account.OwnerId != owner.Id) throw new ArgumentException("The account belongs to another owner.", nameof(account));
                await ReserveAsync(ToEntity(account), owner.Id, "user name", ct).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException) when (slugCreated)
        {
            await DeleteQuietlyAsync(SlugKey(owner.Slug), "", ct).ConfigureAwait(false);
            throw;
        }
        await table.UpsertEntityAsync(ToEntity(owner, TableKeys.Owner(owner.Id), OwnerRow), TableUpdateMode.Replace, ct).ConfigureAwait(false);
    }

    /// <summary>Inserts a uniqueness row; true when created, false when it already held this owner; throws when taken.</summary>
    private async Task<bool> ReserveAsync(TableEntity entity, string ownerId, string what, CancellationToken ct)
    {
        try
        {
            await table.AddEntityAsync(entity, ct).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.Conflict))
        {
            var existing = await table.GetAsync(entity.PartitionKey, entity.RowKey, ct).ConfigureAwait(false);
            if (existing?.GetString("OwnerId") == ownerId) return false;
            throw new InvalidOperationException($"The {what} is already taken.");
        }
    }

    public Task<Owner?> GetOwnerAsync(string ownerId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.Owner(ownerId), OwnerRow, ct).ConfigureAwait(false);
            return row is null ? null : ToOwner(row);
        }, ct);

    public Task<Owner?> FindOwnerBySlugAsync(string slug, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(SlugKey(slug), "", ct).ConfigureAwait(false);
            return row is null ? null : ToOwner(row);
        }, ct);

    public Task<int> CountOwnersAsync(CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var prefix = TableKeys.Owner("");
            var filter = TableClient.CreateQueryFilter($"PartitionKey ge {prefix} and PartitionKey lt {TableKeys.PrefixEnd(prefix)} and RowKey eq {OwnerRow}");
            var count = 0;
            await foreach (var _ in table.QueryAsync<TableEntity>(filter, maxPerPage: TableOps.MaxPageSize, select: ["RowKey"], cancellationToken: ct).ConfigureAwait(false))
            {
                count++;
            }
            return count;
        }, ct);

    public Task<IReadOnlyList<Owner>> ListOwnersAsync(int max, CancellationToken ct) =>
        TableGuard.Run<IReadOnlyList<Owner>>(async () =>
        {
            var prefix = TableKeys.Owner("");
            var filter = TableClient.CreateQueryFilter($"PartitionKey ge {prefix} and PartitionKey lt {TableKeys.PrefixEnd(prefix)} and RowKey eq {OwnerRow}");
            var owners = new List<Owner>();
            await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: TableOps.MaxPageSize, cancellationToken: ct).ConfigureAwait(false))
            {
                owners.Add(ToOwner(row));
            }
            return owners.OrderBy(o => o.CreatedAt).ThenBy(o => o.Id, StringComparer.Ordinal).Take(Math.Max(0, max)).ToArray();
        }, ct);

    public Task<LocalAccount?> FindAccountAsync(string normalisedUserName, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(UserKey(normalisedUserName), "", ct).ConfigureAwait(false);
            return row is null ? null : ToAccount(row);
        }, ct);

    public Task UpdateAccountAsync(LocalAccount account, CancellationToken ct) =>
        TableGuard.Run(() => table.UpsertEntityAsync(ToEntity(account), TableUpdateMode.Replace, ct), ct);

    public Task<string?> FindExternalLoginAsync(string issuer, string subject, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(ExternalKey(issuer, subject), "", ct).ConfigureAwait(false);
            return row?.GetString("OwnerId");
        }, ct);

    public Task<bool> CreateOwnerWithExternalLoginAsync(Owner owner, ExternalLogin login, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            if (login.OwnerId != owner.Id) throw new ArgumentException("The login belongs to another owner.", nameof(login));
            var link = new TableEntity(ExternalKey(login.Issuer, login.Subject), "")
            {
                ["Issuer"] = login.Issuer,
                ["Subject"] = login.Subject,
                ["OwnerId"] = login.OwnerId,
            };
            try
            {
                await table.AddEntityAsync(link, ct).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.IsStatus(HttpStatusCode.Conflict))
            {
                return false;
            }
            try
            {
                await CreateCoreAsync(owner, null, ct).ConfigureAwait(false);
            }
            catch
            {
                await DeleteQuietlyAsync(link.PartitionKey, "", CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            return true;
        }, ct);

    private async Task DeleteQuietlyAsync(string partitionKey, string rowKey, CancellationToken ct)
    {
        try
        {
            await table.DeleteEntityAsync(partitionKey, rowKey, ETag.All, ct).ConfigureAwait(false);
        }
        catch (RequestFailedException)
        {
            // Best effort compensation; a leftover reservation names this owner id and is accepted on retry.
        }
    }

    private static string SlugKey(string slug) => "slug" + TableKeys.Separator + TableKeys.Escape(slug.ToLowerInvariant());

    private static string UserKey(string userName) => "user" + TableKeys.Separator + TableKeys.Escape(userName);

    /// <summary>Issuers are URLs; hashing keeps the key short and free of forbidden characters.</summary>
    private static string ExternalKey(string issuer, string subject)
    {
        var bytes = Encoding.UTF8.GetBytes(string.Concat(issuer.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), ":", issuer, "\n", subject));
        return "ext" + TableKeys.Separator + Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    private static TableEntity ToEntity(Owner owner, string partitionKey, string rowKey) => new(partitionKey, rowKey)
    {
        ["OwnerId"] = owner.Id,
        ["Slug"] = owner.Slug,
        ["DisplayName"] = owner.DisplayName,
        ["CreatedAt"] = owner.CreatedAt,
    };

    private static Owner ToOwner(TableEntity row) =>
        new(row.Required("OwnerId"), row.Required("Slug"), row.GetString("DisplayName") ?? "", row.RequiredTime("CreatedAt"));

    private static TableEntity ToEntity(LocalAccount account) => new(UserKey(account.UserName), "")
    {
        ["OwnerId"] = account.OwnerId,
        ["UserName"] = account.UserName,
        ["PasswordHash"] = account.PasswordHash,
    };

    private static LocalAccount ToAccount(TableEntity row) => new()
    {
        OwnerId = row.Required("OwnerId"),
        UserName = row.Required("UserName"),
        PasswordHash = row.Required("PasswordHash"),
    };
}
