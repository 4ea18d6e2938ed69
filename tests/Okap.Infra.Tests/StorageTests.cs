using System.Text.Json;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class StorageTests(CompiledInfra infra)
{
    private ArmResource Storage => infra.Main.Single("Microsoft.Storage/storageAccounts");

    [Fact]
    public void Storage_account_disallows_shared_key_access()
    {
        Assert.Equal(JsonValueKind.False, Storage.Get("properties", "allowSharedKeyAccess").ValueKind);
        Assert.Equal(JsonValueKind.True, Storage.Get("properties", "defaultToOAuthAuthentication").ValueKind);
    }

    [Fact]
    public void Storage_account_requires_tls_1_2()
    {
        Assert.Equal("TLS1_2", Storage.Get("properties", "minimumTlsVersion").GetString());
    }

    [Fact]
    public void Storage_account_disallows_public_blob_access()
    {
        Assert.Equal(JsonValueKind.False, Storage.Get("properties", "allowBlobPublicAccess").ValueKind);
        foreach (var container in infra.Main.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"))
        {
            Assert.Equal("None", container.Get("properties", "publicAccess").GetString());
        }
    }

    [Fact]
    public void Storage_account_accepts_https_traffic_only()
    {
        Assert.Equal(JsonValueKind.True, Storage.Get("properties", "supportsHttpsTrafficOnly").ValueKind);
    }

    [Fact]
    public void Storage_account_has_a_deployment_container_per_function_app_and_a_table_service()
    {
        Assert.Single(infra.Main.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"));
        Assert.Single(infra.Main.OfType("Microsoft.Storage/storageAccounts/tableServices"));

        var storageModule = infra.Main.Module("storage");
        var containerCopy = storageModule.Properties.GetProperty("parameters").GetProperty("containerNames").ToString();
        Assert.Contains("length(variables('apps'))", containerCopy, StringComparison.Ordinal);
        Assert.Contains("deploymentContainerName", containerCopy, StringComparison.Ordinal);
    }
}
