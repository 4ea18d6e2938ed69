using System.Text.Json;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class FunctionAppTests(CompiledInfra infra)
{
    private ArmResource Site => infra.Main.Single("Microsoft.Web/sites");

    private ArmResource Plan => infra.Main.Single("Microsoft.Web/serverfarms");

    private string AppSettings =>
        infra.Main.OfType("Microsoft.Web/sites/config")
            .Single(c => c.Name.Contains("'appsettings'", StringComparison.Ordinal))
            .Get("properties").GetString()!;

    private string Setting(string name) =>
        ArmExpression.ValueAfterKey(AppSettings, name)
        ?? throw new Xunit.Sdk.XunitException($"app setting {name} is not set");

    [Fact]
    public void Function_app_runs_on_a_flex_consumption_plan()
    {
        Assert.Equal("FC1", Plan.Get("sku", "name").GetString());
        Assert.Equal("FlexConsumption", Plan.Get("sku", "tier").GetString());
        Assert.Equal(JsonValueKind.True, Plan.Get("properties", "reserved").ValueKind);
        Assert.Equal("functionapp,linux", Site.Get("kind").GetString());
    }

    [Fact]
    public void Function_app_runs_dotnet_isolated_10()
    {
        var runtime = Site.Get("properties", "functionAppConfig", "runtime");

        Assert.Equal("dotnet-isolated", runtime.GetProperty("name").GetString());
        Assert.Equal("10.0", ArmTemplate.Resolve(runtime.GetProperty("version"), Site.Scope).GetString());
    }

    [Fact]
    public void Function_app_scale_limits_are_parameters()
    {
        var scale = Site.Get("properties", "functionAppConfig", "scaleAndConcurrency");

        Assert.Equal(2048, ArmTemplate.Resolve(scale.GetProperty("instanceMemoryMB"), Site.Scope).GetInt32());
        Assert.Equal(100, ArmTemplate.Resolve(scale.GetProperty("maximumInstanceCount"), Site.Scope).GetInt32());
        Assert.True(infra.Main.Parameter("instanceMemoryMB").TryGetProperty("allowedValues", out _));
    }

    [Fact]
    public void Function_app_is_https_only_with_tls_1_2_and_no_ftp()
    {
        Assert.Equal(JsonValueKind.True, Site.Get("properties", "httpsOnly").ValueKind);
        Assert.Equal("1.2", Site.Get("properties", "siteConfig", "minTlsVersion").GetString());
        Assert.Equal("1.2", Site.Get("properties", "siteConfig", "scmMinTlsVersion").GetString());
        Assert.Equal("Disabled", Site.Get("properties", "siteConfig", "ftpsState").GetString());
    }

    [Fact]
    public void Function_app_disables_basic_publishing_credentials()
    {
        var policies = infra.Main.OfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies");

        Assert.Equal(2, policies.Count);
        Assert.All(policies, p => Assert.Equal(JsonValueKind.False, p.Get("properties", "allow").ValueKind));
    }

    [Fact]
    public void Function_app_uses_only_the_user_assigned_identity()
    {
        var identity = Site.Get("identity");
        Assert.Equal("UserAssigned", identity.GetProperty("type").GetString());
        var assigned = identity.GetProperty("userAssignedIdentities").EnumerateObject().ToList();
        Assert.Single(assigned);
        Assert.Contains("parameters('identityResourceId')", assigned[0].Name, StringComparison.Ordinal);

        var passed = ArmTemplate.ModuleParameter(infra.Main.Module("functionApps"), "identityResourceId").GetString();
        Assert.Equal("[reference('identity').outputs.resourceId.value]", passed);
        Assert.Single(infra.Main.OfType("Microsoft.ManagedIdentity/userAssignedIdentities"));

        // Key Vault references resolve with the same identity.
        Assert.Equal("[parameters('identityResourceId')]", Site.Get("properties", "keyVaultReferenceIdentity").GetString());
    }

    [Fact]
    public void Function_app_deployment_storage_authenticates_with_the_user_assigned_identity()
    {
        var storage = Site.Get("properties", "functionAppConfig", "deployment", "storage");

        Assert.Equal("blobContainer", storage.GetProperty("type").GetString());
        Assert.Contains("parameters('deploymentContainerName')", storage.GetProperty("value").GetString(), StringComparison.Ordinal);
        var auth = storage.GetProperty("authentication");
        Assert.Equal("UserAssignedIdentity", auth.GetProperty("type").GetString());
        Assert.Equal("[parameters('identityResourceId')]", auth.GetProperty("userAssignedIdentityResourceId").GetString());
        Assert.False(auth.TryGetProperty("storageAccountConnectionStringName", out _));
    }

    [Fact]
    public void Function_app_uses_identity_based_AzureWebJobsStorage()
    {
        Assert.Equal("parameters('storageAccountName')", Setting("AzureWebJobsStorage__accountName"));
        Assert.Equal("'managedidentity'", Setting("AzureWebJobsStorage__credential"));
        Assert.Equal("parameters('identityClientId')", Setting("AzureWebJobsStorage__clientId"));
        Assert.Null(ArmExpression.ValueAfterKey(AppSettings, "AzureWebJobsStorage"));
        Assert.DoesNotContain("DefaultEndpointsProtocol", infra.Main.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Function_app_sets_AZURE_CLIENT_ID_to_the_identity_client_id()
    {
        Assert.Equal("parameters('identityClientId')", Setting("AZURE_CLIENT_ID"));
        var passed = ArmTemplate.ModuleParameter(infra.Main.Module("functionApps"), "identityClientId").GetString();
        Assert.Equal("[reference('identity').outputs.clientId.value]", passed);
    }

    [Fact]
    public void Function_app_sends_telemetry_with_managed_identity()
    {
        Assert.Equal(
            "format('ClientId={0};Authorization=AAD', parameters('identityClientId'))",
            Setting("APPLICATIONINSIGHTS_AUTHENTICATION_STRING"));
        Assert.Contains("ConnectionString", Setting("APPLICATIONINSIGHTS_CONNECTION_STRING"), StringComparison.Ordinal);
        // The worker's OpenTelemetry exporter uses the same identity and does not report about itself.
        Assert.Equal("parameters('identityClientId')", Setting("Okap__Telemetry__AzureMonitorManagedIdentityClientId"));
        Assert.Equal("'true'", Setting("APPLICATIONINSIGHTS_STATSBEAT_DISABLED"));
    }

    [Fact]
    public void Function_app_configures_the_vault_for_azure_storage_and_key_vault()
    {
        Assert.Equal("'Azure'", Setting("Okap__Store"));
        Assert.Equal("parameters('tableEndpoint')", Setting("Okap__Azure__TableServiceUri"));
        Assert.Equal("parameters('identityClientId')", Setting("Okap__Azure__ManagedIdentityClientId"));
        Assert.Equal("parameters('keyVaultUri')", Setting("Okap__Azure__KeyVaultUri"));
        Assert.Equal("parameters('addressingBaseDomain')", Setting("Okap__Addressing__BaseDomain"));

        var module = infra.Main.Module("functionApps");
        Assert.Equal("[reference('storage').outputs.tableEndpoint.value]", ArmTemplate.ModuleParameter(module, "tableEndpoint").GetString());
        Assert.Equal("[reference('keyVault').outputs.uri.value]", ArmTemplate.ModuleParameter(module, "keyVaultUri").GetString());
        Assert.Equal(string.Empty, ArmTemplate.Resolve(ArmTemplate.ModuleParameter(module, "addressingBaseDomain"), module.Scope).GetString());

        var storageOutputs = infra.Main.Outputs.Single(o => o.Name == "tableEndpoint" && o.Scope.Deployment?.Symbol == "storage");
        Assert.EndsWith(".primaryEndpoints.table]", storageOutputs.Value, StringComparison.Ordinal);
        var vaultOutputs = infra.Main.Outputs.Single(o => o.Name == "uri" && o.Scope.Deployment?.Symbol == "keyVault");
        Assert.EndsWith(".vaultUri]", vaultOutputs.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Function_app_public_url_is_front_door_when_enabled_else_its_own_https_url()
    {
        var publicUrl = Setting("Okap__PublicUrl");
        Assert.Contains("parameters('publicUrl')", publicUrl, StringComparison.Ordinal);
        Assert.Contains("format('https://{0}', reference('site').defaultHostName)", publicUrl, StringComparison.Ordinal);

        var passed = infra.Main.Module("functionApps").Properties.GetProperty("parameters").GetProperty("publicUrl").ToString();
        Assert.Contains("parameters('enableFrontDoor')", passed, StringComparison.Ordinal);
        Assert.Contains("'publicHostName'", passed, StringComparison.Ordinal);
    }

    [Fact]
    public void Function_app_trusts_app_service_principal_only_when_entra_auth_is_enabled()
    {
        Assert.Equal("if(parameters('enableEntraAuth'), 'true', 'false')", Setting("Okap__Auth__TrustAppServicePrincipal"));
    }

    [Fact]
    public void Function_app_does_not_set_settings_that_flex_consumption_rejects()
    {
        Assert.Null(ArmExpression.ValueAfterKey(AppSettings, "FUNCTIONS_WORKER_RUNTIME"));
        Assert.Null(ArmExpression.ValueAfterKey(AppSettings, "FUNCTIONS_EXTENSION_VERSION"));
        Assert.Null(ArmExpression.ValueAfterKey(AppSettings, "WEBSITE_RUN_FROM_PACKAGE"));
    }

    [Fact]
    public void Function_apps_are_deployed_once_per_region()
    {
        var module = infra.Main.Module("functionApps");
        var plans = infra.Main.Module("plans");

        Assert.Equal("[length(variables('apps'))]", module.Get("copy", "count").GetString());
        Assert.Equal("[length(variables('apps'))]", plans.Get("copy", "count").GetString());
        Assert.Contains("parameters('appLocations')", infra.Main.Root.GetProperty("variables").GetProperty("copy").ToString(), StringComparison.Ordinal);
        var defaultLocations = infra.Main.Parameter("appLocations").GetProperty("defaultValue");
        Assert.Equal("[parameters('location')]", Assert.Single(defaultLocations.EnumerateArray()).GetString());
    }
}
