using Azure.Core;
using Azure.Data.Tables;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Policies;
using Okap.Core.Pricing;
using Okap.Core.Requests;
using Okap.Core.Tokens;

namespace Okap.Storage.Azure.Tables;

/// <summary>
/// All vault stores on Azure Table Storage (see <c>docs/azure-storage.md</c> for the partition design).
/// Thread-safe; register one instance per process.
/// </summary>
public sealed class AzureTableVaultStores : IVaultStores
{
    /// <summary>Table name suffixes (the configured prefix goes in front).</summary>
    public static readonly IReadOnlyList<string> TableSuffixes = ["owners", "requests", "tokens", "keys", "policies", "accesskeys", "usage", "audit", "keyring", "prices", "signin"];

    private readonly TableServiceClient _service;
    private readonly string _prefix;

    /// <summary>Stores on an existing service client.</summary>
    public AzureTableVaultStores(TableServiceClient service, AzureStorageOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        _service = service;
        _prefix = options.TablePrefix;
        Owners = new OwnerTableStore(Table("owners"));
        Requests = new RequestTableStore(Table("requests"));
        Tokens = new TokenTableStore(Table("tokens"));
        Keys = new KeyMetadataTableStore(Table("keys"));
        Policies = new PolicyTableStore(Table("policies"));
        AccessKeys = new AccessKeyTableStore(Table("accesskeys"));
        Usage = new UsageTableStore(Table("usage"), options.UsageShards, options.UsageMaxAttempts, time ?? TimeProvider.System);
        Audit = new AuditTableStore(Table("audit"));
        Prices = new PriceOverrideTableStore(Table("prices"));
        SignIn = new SignInTableStore(Table("signin"));
    }

    /// <summary>
    /// Stores from options: a connection string when given (Azurite/dev), otherwise <see cref="AzureStorageOptions.TableServiceUri"/>
    /// with <paramref name="credential"/> (default: see <see cref="AzureCredentials.Create"/>).
    /// </summary>
    public static AzureTableVaultStores Create(AzureStorageOptions options, TokenCredential? credential = null, TimeProvider? time = null) =>
        new(CreateServiceClient(options, credential), options, time);

    /// <summary>The table service client with the retry policy and timeouts of <paramref name="options"/>.</summary>
    public static TableServiceClient CreateServiceClient(AzureStorageOptions options, TokenCredential? credential = null)
    {
        var clientOptions = CreateClientOptions(options);
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return new TableServiceClient(options.ConnectionString, clientOptions);
        }
        if (string.IsNullOrWhiteSpace(options.TableServiceUri))
        {
            throw new InvalidOperationException("Set TableServiceUri or ConnectionString.");
        }
        return new TableServiceClient(new Uri(options.TableServiceUri), credential ?? AzureCredentials.Create(options), clientOptions);
    }

    /// <summary>Exponential retries and a per-attempt network timeout; no content logging.</summary>
    public static TableClientOptions CreateClientOptions(AzureStorageOptions options)
    {
        var clientOptions = new TableClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.TableMaxRetries;
        clientOptions.Retry.Delay = options.TableRetryDelay;
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(10);
        clientOptions.Retry.NetworkTimeout = options.TableNetworkTimeout;
        clientOptions.Diagnostics.IsLoggingContentEnabled = false;
        return clientOptions;
    }

    public IOwnerStore Owners { get; }
    public IRequestStore Requests { get; }
    public ITokenStore Tokens { get; }
    public IKeyMetadataStore Keys { get; }
    public IPolicyStore Policies { get; }
    public IAccessKeyStore AccessKeys { get; }
    public IUsageStore Usage { get; }
    public IAuditStore Audit { get; }
    public IPriceOverrideStore Prices { get; }
    public Core.Accounts.SignIn.ISignInStore SignIn { get; }

    /// <summary>The names of the tables these stores use.</summary>
    /// <summary>The table holding the Data Protection key ring.</summary>
    public string KeyRingTable => _prefix + "keyring";

    public IEnumerable<string> TableNames => TableSuffixes.Select(s => _prefix + s);

    /// <summary>Creates the tables when missing; idempotent.</summary>
    public Task InitializeAsync(CancellationToken ct) =>
        TableGuard.Run(async () =>
        {
            foreach (var name in TableNames)
            {
                await _service.CreateTableIfNotExistsAsync(name, ct).ConfigureAwait(false);
            }
        }, ct);

    /// <summary>Deletes every table of these stores (tests and tear-down only).</summary>
    public async Task DeleteTablesAsync(CancellationToken ct)
    {
        foreach (var name in TableNames)
        {
            await _service.DeleteTableAsync(name, ct).ConfigureAwait(false);
        }
    }

    private TableClient Table(string suffix) => _service.GetTableClient(_prefix + suffix);
}
