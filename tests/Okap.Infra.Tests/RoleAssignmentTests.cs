using System.Text.Json;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class RoleAssignmentTests(CompiledInfra infra)
{
    private const string StorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";
    private const string StorageBlobDataOwner = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b";
    private const string StorageQueueDataContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88";
    private const string KeyVaultSecretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7";
    private const string MonitoringMetricsPublisher = "3913510d-42f4-4e42-8a64-420c390055eb";

    /// <summary>Each granted role: the role id, the principal expression and type, and the scope of the assignment resource.</summary>
    private List<(string RoleId, string PrincipalId, string PrincipalType, string Scope)> Grants()
    {
        var grants = new List<(string, string, string, string)>();
        foreach (var assignment in infra.Main.OfType("Microsoft.Authorization/roleAssignments"))
        {
            var module = assignment.Scope.Deployment!;
            var passed = ArmTemplate.Resolve(ArmTemplate.ModuleParameter(module, "roleAssignments"), module.Scope);
            foreach (var item in passed.EnumerateArray())
            {
                var roleId = ArmTemplate.Resolve(item.GetProperty("roleDefinitionId"), module.Scope).GetString()!;
                grants.Add((roleId, item.GetProperty("principalId").GetString()!,
                    item.GetProperty("principalType").GetString()!, assignment.Get("scope").GetString()!));
            }
        }

        return grants;
    }

    [Theory]
    [InlineData(StorageTableDataContributor, "Microsoft.Storage/storageAccounts")]
    [InlineData(StorageBlobDataOwner, "Microsoft.Storage/storageAccounts")]
    [InlineData(StorageQueueDataContributor, "Microsoft.Storage/storageAccounts")]
    [InlineData(KeyVaultSecretsOfficer, "Microsoft.KeyVault/vaults")]
    [InlineData(MonitoringMetricsPublisher, "Microsoft.Insights/components")]
    public void Identity_is_granted_role_on_the_resource_it_needs(string roleId, string scopeType)
    {
        var grant = Assert.Single(Grants(), g => g.RoleId == roleId);

        Assert.Equal("[reference('identity').outputs.principalId.value]", grant.PrincipalId);
        Assert.Equal("ServicePrincipal", grant.PrincipalType);
        Assert.Contains($"resourceId('{scopeType}'", grant.Scope, StringComparison.Ordinal);
    }

    [Fact]
    public void Role_assignments_have_deterministic_guid_names()
    {
        var assignments = infra.Main.OfType("Microsoft.Authorization/roleAssignments");

        Assert.Equal(3, assignments.Count);
        foreach (var a in assignments)
        {
            Assert.StartsWith("[guid(", a.Name, StringComparison.Ordinal);
            Assert.Contains(".principalId", a.Name, StringComparison.Ordinal);
            Assert.Contains(".roleDefinitionId", a.Name, StringComparison.Ordinal);
            Assert.Contains("subscriptionResourceId('Microsoft.Authorization/roleDefinitions'",
                a.Get("properties", "roleDefinitionId").GetString(), StringComparison.Ordinal);
            Assert.Contains("'ServicePrincipal'", a.Get("properties", "principalType").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Only_the_documented_roles_are_granted()
    {
        var roles = Grants().Select(g => g.RoleId).Order(StringComparer.Ordinal).ToArray();

        Assert.Equal(
            new[] { StorageTableDataContributor, MonitoringMetricsPublisher, StorageQueueDataContributor, StorageBlobDataOwner, KeyVaultSecretsOfficer }
                .Order(StringComparer.Ordinal),
            roles);
        Assert.DoesNotContain("17d1049b-9a84-46fb-8f53-869881c3d3ab", infra.Main.Text, StringComparison.Ordinal); // Storage Account Contributor
        Assert.DoesNotContain("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", infra.Main.Text, StringComparison.Ordinal); // Owner
        Assert.DoesNotContain("b24988ac-6180-42a0-ab88-20f7382dd24c", infra.Main.Text, StringComparison.Ordinal); // Contributor
    }
}
