using System.Text.Json;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class AuthTests(CompiledInfra infra)
{
    private ArmResource Auth => infra.Main.OfType("Microsoft.Web/sites/config")
        .Single(c => c.Name.Contains("'authsettingsV2'", StringComparison.Ordinal));

    [Fact]
    public void Entra_auth_is_optional_and_off_by_default()
    {
        Assert.Equal("[parameters('enableEntraAuth')]", Auth.Condition);
        Assert.False(infra.Main.Parameter("enableEntraAuth").GetProperty("defaultValue").GetBoolean());
    }

    [Fact]
    public void Auth_settings_allow_anonymous_requests_so_the_app_decides_per_route()
    {
        var global = Auth.Get("properties", "globalValidation");

        Assert.Equal("AllowAnonymous", global.GetProperty("unauthenticatedClientAction").GetString());
        Assert.Equal(JsonValueKind.False, global.GetProperty("requireAuthentication").ValueKind);
    }

    [Fact]
    public void Auth_settings_require_https_and_enable_the_token_store()
    {
        Assert.Equal(JsonValueKind.True, Auth.Get("properties", "httpSettings", "requireHttps").ValueKind);
        Assert.Equal(JsonValueKind.True, Auth.Get("properties", "login", "tokenStore", "enabled").ValueKind);
        Assert.Equal(JsonValueKind.True, Auth.Get("properties", "platform", "enabled").ValueKind);
    }

    [Fact]
    public void Auth_settings_use_entra_id_with_a_client_secret_setting_name_not_a_value()
    {
        var aad = Auth.Get("properties", "identityProviders", "azureActiveDirectory");
        Assert.Equal(JsonValueKind.True, aad.GetProperty("enabled").ValueKind);

        var registration = aad.GetProperty("registration").GetString()!;
        Assert.Contains("'clientId', parameters('authClientId')", registration, StringComparison.Ordinal);
        Assert.Contains("'openIdIssuer', parameters('authOpenIdIssuer')", registration, StringComparison.Ordinal);
        Assert.Contains("'clientSecretSettingName', parameters('authClientSecretSettingName')", registration, StringComparison.Ordinal);
        Assert.DoesNotContain("'clientSecret',", registration, StringComparison.Ordinal);

        var issuer = ArmTemplate.Resolve(ArmTemplate.ModuleParameter(infra.Main.Module("functionApps"), "authOpenIdIssuer"), infra.Main.Module("functionApps").Scope);
        Assert.Contains("environment().authentication.loginEndpoint", issuer.GetString(), StringComparison.Ordinal);
        Assert.Contains("/v2.0", issuer.GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Client_secret_setting_can_only_be_a_key_vault_reference()
    {
        var secretSetting = infra.Main.Resources
            .Single(r => r.Symbol == "functionApps")
            .Properties.GetProperty("template").GetProperty("variables").GetProperty("clientSecretSetting").GetString()!;

        Assert.Contains("@Microsoft.KeyVault(VaultName=", secretSetting, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, infra.Main.Parameter("authClientSecretSettingName").GetProperty("type").ValueKind);
        Assert.Equal("string", infra.Main.Parameter("authClientSecretSettingName").GetProperty("type").GetString());
    }
}
