using System.Text.Json;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class MonitoringTests(CompiledInfra infra)
{
    [Fact]
    public void App_insights_disables_local_auth()
    {
        var appInsights = infra.Main.Single("Microsoft.Insights/components");

        Assert.Equal(JsonValueKind.True, appInsights.Get("properties", "DisableLocalAuth").ValueKind);
    }

    [Fact]
    public void App_insights_is_workspace_based()
    {
        var appInsights = infra.Main.Single("Microsoft.Insights/components");
        infra.Main.Single("Microsoft.OperationalInsights/workspaces");

        Assert.Equal("LogAnalytics", appInsights.Get("properties", "IngestionMode").GetString());
        var workspaceId = ArmTemplate.Resolve(appInsights.Get("properties", "WorkspaceResourceId"), appInsights.Scope);
        Assert.Contains("reference('logAnalytics')", workspaceId.GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Log_analytics_workspace_disables_local_auth()
    {
        var workspace = infra.Main.Single("Microsoft.OperationalInsights/workspaces");

        Assert.Equal(JsonValueKind.True, workspace.Get("properties", "features", "disableLocalAuth").ValueKind);
    }
}
