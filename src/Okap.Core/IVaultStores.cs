using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Policies;
using Okap.Core.Pricing;
using Okap.Core.Requests;
using Okap.Core.Tokens;

namespace Okap.Core;

// Every query that reads owner data takes the owner id: no store method can reach another owner's rows.
// Implementations: Okap.Storage.Sqlite (embedded default) and Okap.Storage.Azure (Table Storage).
// The contract suite in tests/Okap.Storage.Tests runs against each.

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
    /// <summary>Owners' sessions and second factors, and the per-address sign-in failure counts.</summary>
    Accounts.SignIn.ISignInStore SignIn { get; }
    /// <summary>Creates tables and runs migrations; idempotent.</summary>
    Task InitializeAsync(CancellationToken ct);
}
