namespace Okap.Core.Keys;

/// <summary>Metadata of master keys (never the keys).</summary>
public interface IKeyMetadataStore
{
    Task UpsertAsync(MasterKeyInfo key, CancellationToken ct);
    Task<MasterKeyInfo?> GetAsync(string ownerId, string provider, CancellationToken ct);
    Task<IReadOnlyList<MasterKeyInfo>> ListAsync(string ownerId, CancellationToken ct);
    Task<bool> DeleteAsync(string ownerId, string provider, CancellationToken ct);
}
