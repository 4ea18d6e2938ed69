using System.Text.Json;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class FrontDoorTests(CompiledInfra infra)
{
    [Fact]
    public void Front_door_resources_are_deployed_only_when_the_edge_is_enabled()
    {
        var cdn = infra.Main.Resources
            .Where(r => r.Type.StartsWith("Microsoft.Cdn/", StringComparison.OrdinalIgnoreCase))
            .ToList();

        Assert.NotEmpty(cdn);
        Assert.All(cdn, r => Assert.Equal("[parameters('enableFrontDoor')]", r.ModuleChain[0].Condition));
        Assert.False(infra.Main.Parameter("enableFrontDoor").GetProperty("defaultValue").GetBoolean());
        Assert.Equal("[parameters('enableFrontDoor')]", infra.Main.Module("frontDoor").Condition);
        Assert.Equal("[parameters('enableFrontDoor')]", infra.Main.Module("frontDoorRouting").Condition);
    }

    [Fact]
    public void Front_door_is_the_standard_sku()
    {
        var profile = infra.Main.Single("Microsoft.Cdn/profiles");

        Assert.Equal("Standard_AzureFrontDoor", profile.Get("sku", "name").GetString());
        Assert.Equal("global", profile.Get("location").GetString());
        infra.Main.Single("Microsoft.Cdn/profiles/afdEndpoints");
    }

    [Fact]
    public void Front_door_health_probe_targets_okap_ready_over_https()
    {
        var group = infra.Main.Single("Microsoft.Cdn/profiles/originGroups");
        var probe = group.Get("properties", "healthProbeSettings");

        Assert.Equal("/okap/ready", ArmTemplate.Resolve(probe.GetProperty("probePath"), group.Scope).GetString());
        Assert.Equal("Https", probe.GetProperty("probeProtocol").GetString());
        Assert.Contains(ArmTemplate.Resolve(probe.GetProperty("probeRequestType"), group.Scope).GetString(), new[] { "GET", "HEAD" });
    }

    [Fact]
    public void Front_door_origins_are_the_function_apps()
    {
        var origins = infra.Main.Single("Microsoft.Cdn/profiles/originGroups/origins");
        var routing = infra.Main.Module("frontDoorRouting");

        Assert.Equal("[length(parameters('originHostNames'))]", origins.Get("copy", "count").GetString());
        Assert.Contains("functionApps", routing.Properties.GetProperty("parameters").GetProperty("originHostNames").ToString(), StringComparison.Ordinal);
        Assert.Contains("defaultHostName", routing.Properties.GetProperty("parameters").GetProperty("originHostNames").ToString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.True, origins.Get("properties", "enforceCertificateNameCheck").ValueKind);
    }

    [Fact]
    public void Front_door_route_forwards_everything_over_https_without_caching()
    {
        var route = infra.Main.Single("Microsoft.Cdn/profiles/afdEndpoints/routes");
        var props = route.Get("properties");

        Assert.Equal("HttpsOnly", props.GetProperty("forwardingProtocol").GetString());
        Assert.Equal("Enabled", props.GetProperty("httpsRedirect").GetString());
        Assert.Equal("/*", Assert.Single(props.GetProperty("patternsToMatch").EnumerateArray()).GetString());
        Assert.False(props.TryGetProperty("cacheConfiguration", out _));
    }

    [Fact]
    public void Front_door_custom_domain_is_optional_with_managed_certificate_and_tls_1_2()
    {
        var domain = infra.Main.Single("Microsoft.Cdn/profiles/customDomains");
        var tls = domain.Get("properties", "tlsSettings");

        Assert.Equal("[variables('useCustomDomain')]", domain.Condition);
        Assert.Equal("ManagedCertificate", tls.GetProperty("certificateType").GetString());
        Assert.Equal("TLS12", tls.GetProperty("minimumTlsVersion").GetString());
        Assert.Equal(string.Empty, infra.Main.Parameter("frontDoorCustomDomainHostName").GetProperty("defaultValue").GetString());
    }

    [Fact]
    public void Function_app_accepts_only_front_door_traffic_when_the_edge_is_enabled()
    {
        var site = infra.Main.Single("Microsoft.Web/sites");
        var restrictions = site.Get("properties", "siteConfig", "ipSecurityRestrictions").GetString()!;

        Assert.StartsWith("[if(variables('restrictToFrontDoor')", restrictions, StringComparison.Ordinal);
        Assert.Contains("'ServiceTag'", restrictions, StringComparison.Ordinal);
        Assert.Contains("'AzureFrontDoor.Backend'", restrictions, StringComparison.Ordinal);
        Assert.Contains("'x-azure-fdid', createArray(parameters('frontDoorId'))", restrictions, StringComparison.Ordinal);
        Assert.Equal(
            "[if(variables('restrictToFrontDoor'), 'Deny', 'Allow')]",
            site.Get("properties", "siteConfig", "ipSecurityRestrictionsDefaultAction").GetString());

        var fdid = infra.Main.Module("functionApps").Properties.GetProperty("parameters").GetProperty("frontDoorId").ToString();
        Assert.Contains("parameters('enableFrontDoor')", fdid, StringComparison.Ordinal);
        Assert.Contains("parameters('restrictAppsToFrontDoor')", fdid, StringComparison.Ordinal);
        Assert.Contains("'frontDoorId'", fdid, StringComparison.Ordinal);
    }
}
