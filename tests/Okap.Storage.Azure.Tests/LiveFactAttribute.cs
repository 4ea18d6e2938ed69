namespace Okap.Storage.Azure.Tests;

/// <summary>
/// A fact that runs only against real Azure resources: skipped, with the reason shown in the test report,
/// unless every named environment variable is set.
/// </summary>
public sealed class LiveFactAttribute : FactAttribute
{
    public const string TableUriVariable = "OKAP_LIVE_TABLE_URI";
    public const string KeyVaultUriVariable = "OKAP_LIVE_KEYVAULT_URI";

    public LiveFactAttribute(params string[] variables)
    {
        var missing = variables.Where(v => string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(v))).ToList();
        if (missing.Count > 0)
        {
            Skip = $"Live Azure test skipped: set {string.Join(" and ", missing)} to run it against a real resource.";
        }
    }
}
