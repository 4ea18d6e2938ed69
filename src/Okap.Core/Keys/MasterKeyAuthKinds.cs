namespace Okap.Core.Keys;

/// <summary>Values of <see cref="MasterKeyInfo.AuthKind"/>.</summary>
public static class MasterKeyAuthKinds
{
    public const string Key = "key";
    public const string AzureApiKey = "azure-api-key";
    public const string ManagedIdentity = "managed-identity";
    public const string None = "none";
}
