using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Okap.Storage.Azure;

/// <summary>
/// Settings of the Azure stores (configuration section, e.g. <c>Okap:Azure</c>).
/// Give either <see cref="TableServiceUri"/> (production: Entra ID / managed identity) or
/// <see cref="ConnectionString"/> (Azurite and development only).
/// </summary>
public sealed class AzureStorageOptions
{
    /// <summary>Table service endpoint, e.g. <c>https://myaccount.table.core.windows.net</c>. Authenticated with Entra ID.</summary>
    public string? TableServiceUri { get; set; }

    /// <summary>Storage connection string, for Azurite and development only. Never logged.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Prefix of every table name (letters and digits, starting with a letter); lets several vaults share an account.</summary>
    public string TablePrefix { get; set; } = "okap";

    /// <summary>Key Vault URI, e.g. <c>https://myvault.vault.azure.net/</c>. When set, master keys are kept in Key Vault.</summary>
    public string? KeyVaultUri { get; set; }

    /// <summary>Client id of a user-assigned managed identity; null uses <c>DefaultAzureCredential</c>.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>Retries of one Table Storage call (Azure SDK exponential retry policy).</summary>
    public int TableMaxRetries { get; set; } = 3;

    /// <summary>Timeout of one Table Storage network attempt.</summary>
    public TimeSpan TableNetworkTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First retry delay of Table Storage calls (doubles each retry).</summary>
    public TimeSpan TableRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Number of counter shards per (grant, period); writers pick one at random, readers sum them.</summary>
    public int UsageShards { get; set; } = 4;

    /// <summary>Attempts of one optimistic usage increment before it gives up (jittered exponential back-off between attempts).</summary>
    public int UsageMaxAttempts { get; set; } = 25;

    /// <summary>How long a master key read from Key Vault is served from this instance's memory.</summary>
    public TimeSpan SecretCacheTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an expired cached key may still be served while Key Vault cannot be reached (fail closed after).</summary>
    public TimeSpan SecretStaleIfErrorTtl { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Retries of one Key Vault call (exponential; 429 and 503 honour <c>Retry-After</c>).</summary>
    public int KeyVaultMaxRetries { get; set; } = 5;

    /// <summary>First retry delay of Key Vault calls.</summary>
    public TimeSpan KeyVaultRetryDelay { get; set; } = TimeSpan.FromMilliseconds(800);

    /// <summary>Longest retry delay of Key Vault calls.</summary>
    public TimeSpan KeyVaultMaxRetryDelay { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Timeout of one Key Vault network attempt.</summary>
    public TimeSpan KeyVaultNetworkTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Validates <see cref="AzureStorageOptions"/> at start-up.</summary>
public sealed partial class AzureStorageOptionsValidator : IValidateOptions<AzureStorageOptions>
{
    /// <summary>Longest table-name suffix the stores append (<c>accesskeys</c>); table names are at most 63 characters.</summary>
    internal const int LongestSuffix = 10;

    public ValidateOptionsResult Validate(string? name, AzureStorageOptions options)
    {
        var failures = new List<string>();
        var hasUri = !string.IsNullOrWhiteSpace(options.TableServiceUri);
        var hasConnection = !string.IsNullOrWhiteSpace(options.ConnectionString);
        if (hasUri == hasConnection)
        {
            failures.Add("Set exactly one of TableServiceUri (production) or ConnectionString (Azurite/development).");
        }
        if (hasUri && !IsEndpoint(options.TableServiceUri!))
        {
            failures.Add("TableServiceUri must be an absolute https URI (http is accepted for localhost only).");
        }
        if (options.TablePrefix is null || !TablePrefixPattern().IsMatch(options.TablePrefix) || options.TablePrefix.Length + LongestSuffix > 63)
        {
            failures.Add($"TablePrefix must be 1–{63 - LongestSuffix} letters or digits starting with a letter.");
        }
        if (!string.IsNullOrWhiteSpace(options.KeyVaultUri) && !IsEndpoint(options.KeyVaultUri!))
        {
            failures.Add("KeyVaultUri must be an absolute https URI.");
        }
        if (options.ManagedIdentityClientId is { Length: > 0 } clientId && !Guid.TryParse(clientId, out _))
        {
            failures.Add("ManagedIdentityClientId must be a GUID.");
        }
        if (options.UsageShards is < 1 or > 64) failures.Add("UsageShards must be between 1 and 64.");
        if (options.UsageMaxAttempts is < 1 or > 100) failures.Add("UsageMaxAttempts must be between 1 and 100.");
        if (options.TableMaxRetries < 0 || options.KeyVaultMaxRetries < 0) failures.Add("Retry counts must not be negative.");
        if (options.TableNetworkTimeout <= TimeSpan.Zero || options.KeyVaultNetworkTimeout <= TimeSpan.Zero) failures.Add("Network timeouts must be positive.");
        if (options.SecretCacheTtl < TimeSpan.Zero || options.SecretStaleIfErrorTtl < TimeSpan.Zero) failures.Add("Cache durations must not be negative.");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsEndpoint(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback));

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9]*$")]
    private static partial Regex TablePrefixPattern();
}
