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
        var domain = infra.Main.OfType("Microsoft.Cdn/profiles/customDomains").Single(d => d.Condition == "[variables('useCustomDomain')]");
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

    [Fact]
    public void Front_door_can_serve_the_proxy_on_a_second_custom_domain_that_tells_the_app_which_host_was_asked_for()
    {
        Assert.Equal(string.Empty, infra.Main.Parameter("frontDoorProxyCustomDomainHostName").GetProperty("defaultValue").GetString());
        var domain = infra.Main.OfType("Microsoft.Cdn/profiles/customDomains").Single(d => d.Condition == "[variables('useProxyDomain')]");
        Assert.Contains("parameters('proxyCustomDomainHostName')", domain.Get("properties", "hostName").ToString(), StringComparison.Ordinal);
        Assert.Equal("TLS12", domain.Get("properties", "tlsSettings", "minimumTlsVersion").GetString());

        // The route serves both host names; a rule overwrites the origin-host header with the host the client asked for.
        var route = infra.Main.Single("Microsoft.Cdn/profiles/afdEndpoints/routes");
        Assert.Contains("parameters('proxyCustomDomainResourceId')", route.Get("properties", "customDomains").ToString(), StringComparison.Ordinal);
        Assert.Contains("'okaporiginhost'", route.Get("properties", "ruleSets").ToString(), StringComparison.Ordinal);
        var rule = infra.Main.Single("Microsoft.Cdn/profiles/ruleSets/rules");
        Assert.Equal("[parameters('separateProxy')]", rule.Condition);
        var action = Assert.Single(rule.Get("properties", "actions").EnumerateArray());
        Assert.Equal("ModifyRequestHeader", action.GetProperty("name").GetString());
        Assert.Equal("Overwrite", action.GetProperty("parameters").GetProperty("headerAction").GetString());
        Assert.Equal("{hostname}", action.GetProperty("parameters").GetProperty("value").GetString());
        Assert.Equal("[parameters('originHostHeader')]", action.GetProperty("parameters").GetProperty("headerName").GetString());

        // The app learns its proxy origin and that header from the same parameters.
        var appSettings = infra.Main.OfType("Microsoft.Web/sites/config").Single(c => c.Name.Contains("'appsettings'", StringComparison.Ordinal)).Get("properties").GetString()!;
        Assert.Contains("Okap__Proxy__PublicUrl", appSettings, StringComparison.Ordinal);
        Assert.Contains("Okap__Proxy__OriginHostHeader", appSettings, StringComparison.Ordinal);
        var passed = infra.Main.Module("functionApps").Properties.GetProperty("parameters").GetProperty("proxyPublicUrl").ToString();
        Assert.Contains("variables('edgeProxyPublicUrl')", passed, StringComparison.Ordinal);
        var edgeProxyPublicUrl = infra.Main.Root.GetProperty("variables").GetProperty("edgeProxyPublicUrl").GetString()!;
        Assert.Contains("parameters('enableFrontDoor')", edgeProxyPublicUrl, StringComparison.Ordinal);
        Assert.Contains("parameters('frontDoorProxyCustomDomainHostName')", edgeProxyPublicUrl, StringComparison.Ordinal);
        Assert.Equal("api.vault.example.com", infra.EdgeParameters.GetProperty("frontDoorProxyCustomDomainHostName").GetProperty("value").GetString());
        Assert.Empty(infra.EdgeParamsBuild.Diagnostics);
    }
}
