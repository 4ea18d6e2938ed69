using Azure.Core;
using Azure.Identity;

namespace Okap.Storage.Azure;

/// <summary>How the stores authenticate to Azure when no connection string is given.</summary>
public static class AzureCredentials
{
    /// <summary>
    /// A user-assigned managed identity when <see cref="AzureStorageOptions.ManagedIdentityClientId"/> is set,
    /// otherwise <see cref="DefaultAzureCredential"/> (system-assigned identity in Azure, developer sign-in locally).
    /// </summary>
    public static TokenCredential Create(AzureStorageOptions options) =>
        string.IsNullOrWhiteSpace(options.ManagedIdentityClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(options.ManagedIdentityClientId));
}
