using Okap.Core.Model;
using Okap.Core.Pricing;

namespace Okap.Core.Stores;

// Every query that reads owner data takes the owner id: no store method can reach another owner's rows.
// Implementations: Okap.Storage.Sqlite (embedded default) and Okap.Storage.Azure (Table Storage).
// The contract suite in tests/Okap.Storage.Tests runs against each.

/// <summary>Owners, local accounts and external logins.</summary>
public interface IOwnerStore
{
    Task CreateOwnerAsync(Owner owner, LocalAccount? account, CancellationToken ct);
    Task<Owner?> GetOwnerAsync(string ownerId, CancellationToken ct);
    Task<Owner?> FindOwnerBySlugAsync(string slug, CancellationToken ct);
    Task<int> CountOwnersAsync(CancellationToken ct);
    /// <summary>Up to <paramref name="max"/> owners, oldest first (single-user resolution and operator tooling).</summary>
    Task<IReadOnlyList<Owner>> ListOwnersAsync(int max, CancellationToken ct);
    Task<LocalAccount?> FindAccountAsync(string normalisedUserName, CancellationToken ct);
    Task UpdateAccountAsync(LocalAccount account, CancellationToken ct);
    /// <summary>
    /// Counts one failed sign-in atomically (concurrent failures, on any instance, are never lost). When the count
    /// reaches <paramref name="maxAttempts"/> the account is locked until <paramref name="lockUntil"/> and the count
    /// starts again. Returns the account as stored afterwards, or null when there is no such account.
    /// </summary>
    Task<LocalAccount?> RecordFailedSignInAsync(string normalisedUserName, int maxAttempts, DateTimeOffset lockUntil, CancellationToken ct);
    Task<string?> FindExternalLoginAsync(string issuer, string subject, CancellationToken ct);
    /// <summary>Creates the owner and links the login; returns false when the login is already linked.</summary>
    Task<bool> CreateOwnerWithExternalLoginAsync(Owner owner, ExternalLogin login, CancellationToken ct);
}

/// <summary>Access requests.</summary>
public interface IRequestStore
{
    Task CreateAsync(AccessRequest request, CancellationToken ct);
    Task<AccessRequest?> GetAsync(string ownerId, string requestId, CancellationToken ct);
    /// <summary>Newest first. Listed items may carry no <see cref="AccessRequest.ConcurrencyStamp"/>: read one with <see cref="GetAsync"/> before updating it.</summary>
    Task<Page<AccessRequest>> ListAsync(string ownerId, RequestStatus? status, int pageSize, string? continuationToken, CancellationToken ct);
    /// <summary>Replaces the request if its <see cref="AccessRequest.ConcurrencyStamp"/> still matches; false when someone else changed it first.</summary>
    Task<bool> TryUpdateAsync(AccessRequest request, CancellationToken ct);
}

/// <summary>Issued tokens.</summary>
public interface ITokenStore
{
    Task CreateAsync(TokenRecord token, CancellationToken ct);
    /// <summary>The data-plane lookup: one point read by hash.</summary>
    Task<TokenRecord?> FindByHashAsync(string hash, CancellationToken ct);
    Task<TokenRecord?> GetAsync(string ownerId, string tokenId, CancellationToken ct);
    /// <summary>Newest first.</summary>
    Task<Page<TokenRecord>> ListAsync(string ownerId, int pageSize, string? continuationToken, CancellationToken ct);
    /// <summary>Sets <see cref="TokenRecord.RevokedAt"/> if not yet set. Returns the token as stored afterwards, or null if not found.</summary>
    Task<TokenRecord?> RevokeAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct);
    /// <summary>
    /// Replaces a token's grants and expiry if its grants are still <paramref name="expected"/> (an owner's narrowing,
    /// checked against what they saw). Returns the token as stored afterwards — with <paramref name="grants"/> when
    /// it applied, with someone else's change when it did not — or null if there is no such token. The data plane
    /// sees the change first, so a narrowed token never works wider once this returns.
    /// </summary>
    Task<TokenRecord?> ReplaceGrantsAsync(string ownerId, string tokenId, IReadOnlyList<Grant> expected, IReadOnlyList<Grant> grants,
        DateTimeOffset? expiresAt, CancellationToken ct);
    /// <summary>Raises <see cref="TokenRecord.LastUsedAt"/> (never lowers it).</summary>
    Task TouchAsync(string ownerId, string tokenId, DateTimeOffset at, CancellationToken ct);
    /// <summary>Removes a token never handed over (used when a hand-over loses a race).</summary>
    Task DeleteAsync(string ownerId, string tokenId, CancellationToken ct);
}

/// <summary>Metadata of master keys (never the keys).</summary>
public interface IKeyMetadataStore
{
    Task UpsertAsync(MasterKeyInfo key, CancellationToken ct);
    Task<MasterKeyInfo?> GetAsync(string ownerId, string provider, CancellationToken ct);
    Task<IReadOnlyList<MasterKeyInfo>> ListAsync(string ownerId, CancellationToken ct);
    Task<bool> DeleteAsync(string ownerId, string provider, CancellationToken ct);
}

/// <summary>Where master keys themselves live: Data Protection-encrypted rows, or Azure Key Vault.</summary>
public interface ISecretStore
{
    /// <summary>Stores the key, replacing any earlier one.</summary>
    Task SetAsync(string ownerId, string provider, string secret, CancellationToken ct);
    /// <summary>Null when no key is stored. Throws <see cref="VaultUnavailableException"/> when the store cannot be reached.</summary>
    Task<string?> GetAsync(string ownerId, string provider, CancellationToken ct);
    Task DeleteAsync(string ownerId, string provider, CancellationToken ct);
}

/// <summary>Auto-approve policies.</summary>
public interface IPolicyStore
{
    Task UpsertAsync(AutoApprovePolicy policy, CancellationToken ct);
    Task<AutoApprovePolicy?> GetAsync(string ownerId, string policyId, CancellationToken ct);
    Task<IReadOnlyList<AutoApprovePolicy>> ListAsync(string ownerId, CancellationToken ct);
    Task<bool> DeleteAsync(string ownerId, string policyId, CancellationToken ct);
}

/// <summary>Personal access keys for the admin API.</summary>
public interface IAccessKeyStore
{
    Task CreateAsync(PersonalAccessKey key, CancellationToken ct);
    Task<PersonalAccessKey?> FindByHashAsync(string hash, CancellationToken ct);
    Task<IReadOnlyList<PersonalAccessKey>> ListAsync(string ownerId, CancellationToken ct);
    Task<bool> RevokeAsync(string ownerId, string keyId, DateTimeOffset at, CancellationToken ct);
}

/// <summary>Usage counters. Additions are atomic increments: concurrent writers never lose an update.</summary>
public interface IUsageStore
{
    /// <summary>Adds each delta to its (grant, period) counter, creating it when missing.</summary>
    Task AddAsync(IReadOnlyList<UsageCounter> deltas, CancellationToken ct);
    /// <summary>Counters of one grant for the given periods (missing ones are left out).</summary>
    Task<IReadOnlyList<UsageCounter>> GetAsync(string ownerId, string grantKey, IReadOnlyList<string> periods, CancellationToken ct);
    /// <summary>All counters of an owner whose period is at or after <paramref name="fromPeriod"/> of the same kind (d: or m:).</summary>
    Task<IReadOnlyList<UsageCounter>> ListAsync(string ownerId, string fromPeriod, CancellationToken ct);

    /// <summary>
    /// Adds a batch's deltas exactly once: the store remembers, per <see cref="UsageBatch.WriterId"/>, the highest
    /// <see cref="UsageBatch.Seq"/> it committed, in the same transaction as the counters, and skips a batch (or the
    /// part of it, per owner) it has already committed. A writer sends its batches in order, each with a higher
    /// sequence number, and retries a failed batch unchanged, so a reply lost after commit never counts twice.
    /// Throws <see cref="UsagePartlyWrittenException"/> when only some owners' parts were committed (retrying the
    /// whole batch is then safe).
    /// </summary>
    Task AddBatchAsync(UsageBatch batch, CancellationToken ct);

    /// <summary>
    /// Forgets what the store remembers of <paramref name="writerId"/>'s batches (in the partitions of
    /// <paramref name="ownerIds"/>, where a store keeps its marks per owner). Call it only when no batch of that
    /// writer can ever be sent again — its process wrote every batch and is stopping — or a retried batch would count twice.
    /// </summary>
    Task ForgetWriterAsync(string writerId, IReadOnlyCollection<string> ownerIds, CancellationToken ct);

    /// <summary>The budget lease document of one grant (see <c>BudgetLedger</c>), or null when there is none yet.</summary>
    Task<LeaseDocument?> ReadLeaseAsync(string ownerId, string grantKey, CancellationToken ct);

    /// <summary>
    /// Writes the grant's lease document if it is still at <paramref name="expectedVersion"/> (null: only if there is
    /// none). Returns the new version, or null when another writer changed it first (read it again and retry).
    /// </summary>
    Task<string?> TryWriteLeaseAsync(string ownerId, string grantKey, string document, string? expectedVersion, CancellationToken ct);
}

/// <summary>A flush's usage deltas, identified for exactly-once writing.</summary>
/// <param name="WriterId">The writing process (one id per process start); no two processes share one.</param>
/// <param name="Seq">Increases with every batch of this writer (from 1).</param>
public sealed record UsageBatch(string WriterId, long Seq, IReadOnlyList<UsageCounter> Deltas);

/// <summary>A grant's lease document as stored, with the version a conditional write must match.</summary>
public sealed record LeaseDocument(string Json, string Version);

/// <summary>Append-only audit trail, newest first.</summary>
public interface IAuditStore
{
    Task AppendAsync(AuditEvent entry, CancellationToken ct);
    Task<Page<AuditEvent>> ListAsync(string ownerId, AuditQuery query, CancellationToken ct);
}

/// <summary>Filters and paging for <see cref="IAuditStore.ListAsync"/>.</summary>
public sealed record AuditQuery(int PageSize = 50, string? ContinuationToken = null, string? AppName = null, string? Event = null);

/// <summary>Everything the vault stores, as one set chosen together by configuration.</summary>
public interface IVaultStores
{
    IOwnerStore Owners { get; }
    IRequestStore Requests { get; }
    ITokenStore Tokens { get; }
    IKeyMetadataStore Keys { get; }
    IPolicyStore Policies { get; }
    IAccessKeyStore AccessKeys { get; }
    IUsageStore Usage { get; }
    IAuditStore Audit { get; }
    /// <summary>Owners' own model prices, which win over the catalog.</summary>
    IPriceOverrideStore Prices { get; }
    /// <summary>Creates tables and runs migrations; idempotent.</summary>
    Task InitializeAsync(CancellationToken ct);
}
