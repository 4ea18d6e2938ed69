namespace Okap.Core.Notifications;

/// <summary>
/// Something an owner may want to hear about at once, wherever they are (webhooks, browser push): a request waiting
/// for a decision, a request that expired undecided, a revoked token, spend crossing a threshold.
/// </summary>
/// <param name="Type">One of <see cref="VaultEventTypes"/>.</param>
/// <param name="OwnerId">Whose vault it happened in; every sink delivers to that owner's own endpoints only.</param>
/// <param name="Id">
/// Stable for one occurrence (e.g. <c>request.pending:req_…</c>): instances that notice the same occurrence publish the
/// same id, so a sink can deliver it once.
/// </param>
/// <param name="OccurredAt">When it happened.</param>
/// <param name="Data">
/// What the owner's receiver is told: ids, app name, providers, amounts. Never a token, a key, a prompt or a poll handle.
/// </param>
public sealed record VaultEvent(string Type, string OwnerId, string Id, DateTimeOffset OccurredAt, IReadOnlyDictionary<string, string?> Data);

/// <summary>Event type names, as receivers see them.</summary>
public static class VaultEventTypes
{
    public const string RequestPending = "request.pending";
    public const string RequestExpired = "request.expired";
    public const string TokenRevoked = "token.revoked";
    public const string SpendThreshold = "spend.threshold";

    /// <summary>Every type, in the order the page lists them.</summary>
    public static readonly IReadOnlyList<string> All = [RequestPending, RequestExpired, TokenRevoked, SpendThreshold];
}
