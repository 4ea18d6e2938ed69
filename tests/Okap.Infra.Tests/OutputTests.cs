using System.Text.RegularExpressions;

namespace Okap.Infra.Tests;

[Collection(InfraCollection.Name)]
public sealed class OutputTests(CompiledInfra infra)
{
    private static readonly string[] SecretWords = ["key", "secret", "password", "connectionstring", "sas", "credential", "token"];

    [Fact]
    public void No_output_name_looks_like_a_secret()
    {
        foreach (var output in infra.Main.Outputs)
        {
            // "keyVaultName"/"keyVaultUri" name the vault, not a key.
            var name = output.Name.ToLowerInvariant().Replace("keyvault", string.Empty, StringComparison.Ordinal);
            foreach (var word in SecretWords)
            {
                Assert.False(name.Contains(word, StringComparison.Ordinal),
                    $"output '{output.Name}' (in {output.Scope.Deployment?.Symbol ?? "main"}) looks like a secret");
            }
        }
    }

    [Fact]
    public void No_output_value_reads_keys_or_connection_strings()
    {
        Assert.NotEmpty(infra.Main.Outputs);
        foreach (var output in infra.Main.Outputs)
        {
            Assert.DoesNotMatch(@"(?i)\blist[A-Za-z]*\(", output.Value);
            Assert.DoesNotContain("ConnectionString", output.Value, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("InstrumentationKey", output.Value, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("secret", output.Value, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotMatch("(?i)^secure", output.Type);
        }
    }

    [Fact]
    public void Template_never_reads_account_keys()
    {
        Assert.DoesNotContain("AccountKey", infra.Main.Text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(new Regex(@"(?i)\blist(Keys|AccountSas|ServiceSas|Secrets|ConnectionStrings)?\("), infra.Main.Text);
        Assert.DoesNotContain("SharedAccessSignature", infra.Main.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("vaultUrl")]
    [InlineData("functionAppNames")]
    [InlineData("storageAccountName")]
    [InlineData("keyVaultName")]
    [InlineData("keyVaultUri")]
    [InlineData("identityClientId")]
    public void Main_template_outputs(string name)
    {
        Assert.Contains(infra.Main.MainOutputs, o => o.Name == name);
    }

    [Fact]
    public void Vault_url_is_front_door_when_enabled_else_the_primary_app()
    {
        var vaultUrl = infra.Main.MainOutputs.Single(o => o.Name == "vaultUrl").Value;

        Assert.StartsWith("[if(parameters('enableFrontDoor')", vaultUrl, StringComparison.Ordinal);
        Assert.Contains("'publicHostName'", vaultUrl, StringComparison.Ordinal);
        Assert.Contains("format('https://{0}', reference(format('functionApps[{0}]', 0)).outputs.defaultHostName.value)", vaultUrl, StringComparison.Ordinal);
    }
}
