using System.Text.Json;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class KeyVaultTests(CompiledInfra infra)
{
    private ArmResource Vault => infra.Main.Single("Microsoft.KeyVault/vaults");

    [Fact]
    public void Key_vault_authorizes_with_rbac_not_access_policies()
    {
        Assert.Equal(JsonValueKind.True, Vault.Get("properties", "enableRbacAuthorization").ValueKind);
        Assert.False(Vault.Has("properties", "accessPolicies"));
    }

    [Fact]
    public void Key_vault_has_soft_delete_and_purge_protection()
    {
        Assert.Equal(JsonValueKind.True, Vault.Get("properties", "enableSoftDelete").ValueKind);
        Assert.Equal(JsonValueKind.True, Vault.Get("properties", "enablePurgeProtection").ValueKind);
    }

    [Fact]
    public void Key_vault_soft_delete_retention_is_a_parameter_defaulting_to_90_days()
    {
        var retention = ArmTemplate.Resolve(Vault.Get("properties", "softDeleteRetentionInDays"), Vault.Scope);

        Assert.Equal(90, retention.GetInt32());
        var decl = infra.Main.Parameter("keyVaultSoftDeleteRetentionInDays");
        Assert.Equal(7, decl.GetProperty("minValue").GetInt32());
        Assert.Equal(90, decl.GetProperty("maxValue").GetInt32());
    }

    [Fact]
    public void Key_vault_is_not_opened_to_templates_vms_or_disk_encryption()
    {
        Assert.Equal(JsonValueKind.False, Vault.Get("properties", "enabledForDeployment").ValueKind);
        Assert.Equal(JsonValueKind.False, Vault.Get("properties", "enabledForTemplateDeployment").ValueKind);
        Assert.Equal(JsonValueKind.False, Vault.Get("properties", "enabledForDiskEncryption").ValueKind);
    }
}
