namespace Okap.Core.Pricing;

/// <summary>Per-owner price overrides. Implementations live with the other stores.</summary>
public interface IPriceOverrideStore
{
    /// <summary>Every override of one owner (a short list).</summary>
    Task<IReadOnlyList<PriceOverride>> ListAsync(string ownerId, CancellationToken ct);
    /// <summary>Creates or replaces the override for (owner, provider, model).</summary>
    Task UpsertAsync(PriceOverride price, CancellationToken ct);
    Task<bool> DeleteAsync(string ownerId, string provider, string model, CancellationToken ct);
}

/// <summary>The store used when a host registers none: no owner has overrides.</summary>
public sealed class NoPriceOverrides : IPriceOverrideStore
{
    public Task<IReadOnlyList<PriceOverride>> ListAsync(string ownerId, CancellationToken ct) => Task.FromResult<IReadOnlyList<PriceOverride>>([]);
    public Task UpsertAsync(PriceOverride price, CancellationToken ct) => throw new NotSupportedException("No price override store is configured.");
    public Task<bool> DeleteAsync(string ownerId, string provider, string model, CancellationToken ct) => Task.FromResult(false);
}
