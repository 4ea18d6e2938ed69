using Azure;
using Azure.Data.Tables;
using Okap.Core.Accounts.SignIn;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// Table <c>{prefix}signin</c>:
/// <list type="bullet">
/// <item><c>o|{ownerId}</c> / <c>state</c>: the owner's sign-in document (<c>State</c>); its ETag is the version.</item>
/// <item><c>a|{addressKey}</c> / <c>""</c>: failed sign-ins from one address (<c>WindowStart</c>, <c>Failures</c>).</item>
/// </list>
/// </summary>
internal sealed class SignInTableStore(TableClient table) : ISignInStore
{
    private const string StateRow = "state";

    public Task<StoredSignInState?> ReadStateAsync(string ownerId, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(TableKeys.Owner(ownerId), StateRow, ct).ConfigureAwait(false);
            return row is null ? null : new StoredSignInState(row.Required("State"), row.ETag.ToString());
        }, ct);

    public Task<bool> TryWriteStateAsync(string ownerId, string json, string? expectedVersion, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var entity = new TableEntity(TableKeys.Owner(ownerId), StateRow) { ["State"] = json };
            try
            {
                if (expectedVersion is null) await table.AddEntityAsync(entity, ct).ConfigureAwait(false);
                else await table.UpdateEntityAsync(entity, new ETag(expectedVersion), TableUpdateMode.Replace, ct).ConfigureAwait(false);
                return true;
            }
            catch (RequestFailedException e) when (TableOps.IsConflictOrPrecondition(e))
            {
                return false;
            }
        }, ct);

    public Task<int> CountFailureAsync(string addressKey, DateTimeOffset window, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var partition = AddressPartition(addressKey);
            // Read, add one, write back only if nobody changed the row meanwhile (ETag); on a race, read again.
            for (var attempt = 0; ; attempt++)
            {
                var row = await table.GetAsync(partition, "", ct).ConfigureAwait(false);
                var failures = row is not null && row.GetDateTimeOffset("WindowStart") == window ? (row.GetInt32("Failures") ?? 0) + 1 : 1;
                var entity = new TableEntity(partition, "") { ["WindowStart"] = window, ["Failures"] = failures };
                try
                {
                    if (row is null) await table.AddEntityAsync(entity, ct).ConfigureAwait(false);
                    else await table.UpdateEntityAsync(entity, row.ETag, TableUpdateMode.Replace, ct).ConfigureAwait(false);
                    return failures;
                }
                catch (RequestFailedException e) when (TableOps.IsConflictOrPrecondition(e) && attempt < 50)
                {
                    await Task.Delay(TableOps.Backoff(attempt, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(200)), ct).ConfigureAwait(false);
                }
            }
        }, ct);

    public Task<int> ReadFailuresAsync(string addressKey, DateTimeOffset window, CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            var row = await table.GetAsync(AddressPartition(addressKey), "", ct).ConfigureAwait(false);
            return row is not null && row.GetDateTimeOffset("WindowStart") == window ? row.GetInt32("Failures") ?? 0 : 0;
        }, ct);

    private static string AddressPartition(string addressKey) => "a|" + TableKeys.Escape(addressKey);
}
