using System.Text.Json;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class ToolingTests(CompiledInfra infra)
{
    [Fact]
    public void Bicep_lint_reports_no_warnings_or_errors_in_any_infra_file()
    {
        var lint = infra.Lint;

        Assert.True(lint.ExitCode == 0, $"bicep lint failed:\n{lint.Output}");
        Assert.Empty(lint.Diagnostics);
    }

    [Fact]
    public void Bicep_build_of_main_template_prints_no_diagnostics()
    {
        Assert.Equal(0, infra.MainBuild.ExitCode);
        Assert.Empty(infra.MainBuild.Diagnostics);
        Assert.Equal("https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            infra.Main.Root.GetProperty("$schema").GetString());
    }

    [Fact]
    public void Sample_parameters_file_builds_without_diagnostics()
    {
        Assert.Empty(infra.SampleParamsBuild.Diagnostics);
        Assert.False(infra.SampleParameters.GetProperty("enableFrontDoor").GetProperty("value").GetBoolean());
        Assert.True(infra.SampleParameters.TryGetProperty("environmentName", out _));
    }

    [Fact]
    public void Edge_parameters_file_builds_with_front_door_in_two_regions()
    {
        var p = infra.EdgeParameters;

        Assert.Empty(infra.EdgeParamsBuild.Diagnostics);
        Assert.True(p.GetProperty("enableFrontDoor").GetProperty("value").GetBoolean());
        Assert.Equal(2, p.GetProperty("appLocations").GetProperty("value").GetArrayLength());
        Assert.Equal("vault.example.com", p.GetProperty("frontDoorCustomDomainHostName").GetProperty("value").GetString());
    }

    [Fact]
    public void Bicep_config_turns_security_lint_rules_into_errors()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(BicepCli.Repo("infra", "bicepconfig.json")));
        var rules = config.RootElement.GetProperty("analyzers").GetProperty("core").GetProperty("rules");

        foreach (var rule in new[]
                 {
                     "outputs-should-not-contain-secrets", "secure-secrets-in-params", "secure-parameter-default",
                     "no-hardcoded-env-urls", "use-secure-value-for-secure-inputs", "no-unused-params", "no-unused-vars",
                     "use-stable-resource-identifiers", "what-if-short-circuiting",
                 })
        {
            Assert.Equal("error", rules.GetProperty(rule).GetProperty("level").GetString());
        }
    }

    [Fact]
    public void Infra_uses_only_local_modules()
    {
        var files = Directory.GetFiles(BicepCli.Repo("infra"), "*.bicep", SearchOption.AllDirectories);

        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            // Registry (br:, br/alias:) and template spec (ts:) references cannot be restored here.
            Assert.DoesNotMatch(@"(?m)^\s*(module|import|using)\b.*'(br|ts)[:/]", text);
            foreach (var line in text.Split('\n').Where(l => l.TrimStart().StartsWith("module ", StringComparison.Ordinal)))
            {
                Assert.Matches(@"^\s*module\s+\w+\s+'(modules/)?[\w-]+\.bicep'", line);
            }
        }
    }

    [Fact]
    public void Azure_yaml_deploys_the_vault_function_from_the_infra_folder()
    {
        var yaml = File.ReadAllText(BicepCli.Repo("azure.yaml"));

        Assert.Matches(@"(?m)^infra:\s*$", yaml);
        Assert.Matches(@"(?m)^\s+path: infra\s*$", yaml);
        Assert.Matches(@"(?m)^\s+vault:\s*$", yaml);
        Assert.Matches(@"(?m)^\s+project: src/Okap\.Functions\s*$", yaml);
        Assert.Matches(@"(?m)^\s+language: dotnet\s*$", yaml);
        Assert.Matches(@"(?m)^\s+host: function\s*$", yaml);
    }

    [Fact]
    public void Primary_function_app_is_tagged_for_azd_service_vault()
    {
        var apps = infra.Main.Module("functionApps");

        var passed = apps.Properties.GetProperty("parameters").GetProperty("azdServiceName").ToString();
        Assert.Contains("if(equals(copyIndex(), 0), createObject('value', 'vault')", passed, StringComparison.Ordinal);
        var site = infra.Main.Single("Microsoft.Web/sites");
        Assert.Contains("'azd-service-name'", site.Get("tags").GetString(), StringComparison.Ordinal);
    }
}
