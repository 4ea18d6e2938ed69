using Microsoft.Extensions.Logging;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Policies;
using Okap.Core.Pricing;
using Okap.Core.Requests;
using Okap.Core.Tokens;

namespace Okap.Storage.Sqlite;

/// <summary>
/// The embedded default store: every <see cref="IVaultStores"/> interface on one SQLite file
/// (WAL journal, busy timeout, foreign keys, numbered migrations in <c>schema_version</c>).
/// Register it with <c>services.AddOkapSqliteStore(...)</c>.
/// </summary>
/// <remarks>
/// Operations run <see cref="InitializeAsync"/> on first use, so forgetting to call it is harmless; hosts should still
/// call it at start-up to fail early. Dispose clears the connection pool (releases the file handles).
/// </remarks>
public sealed class SqliteVaultStores : IVaultStores, IDisposable
{
    public SqliteVaultStores(SqliteStoreOptions options, ILogger<SqliteVaultStores>? logger = null, TimeProvider? time = null)
    {
        Database = new SqliteDatabase(options, logger);
        Owners = new SqliteOwnerStore(Database);
        Requests = new SqliteRequestStore(Database);
        Tokens = new SqliteTokenStore(Database);
        Keys = new SqliteKeyMetadataStore(Database);
        Policies = new SqlitePolicyStore(Database);
        AccessKeys = new SqliteAccessKeyStore(Database);
        Usage = new SqliteUsageStore(Database, time ?? TimeProvider.System);
        Audit = new SqliteAuditStore(Database);
        Prices = new SqlitePriceOverrideStore(Database);
        SignIn = new SqliteSignInStore(Database);
    }

    internal SqliteDatabase Database { get; }

    public IOwnerStore Owners { get; }
    public IRequestStore Requests { get; }
    public ITokenStore Tokens { get; }
    public IKeyMetadataStore Keys { get; }
    public IPolicyStore Policies { get; }
    public IAccessKeyStore AccessKeys { get; }
    public IUsageStore Usage { get; }
    public IAuditStore Audit { get; }
    public IPriceOverrideStore Prices { get; }
    public Okap.Core.Accounts.SignIn.ISignInStore SignIn { get; }

    /// <summary>Creates the folder and file if needed, switches to WAL and applies pending migrations. Idempotent.</summary>
    public Task InitializeAsync(CancellationToken ct) => Database.InitializeAsync(ct);

    public void Dispose() => Database.Dispose();
}
