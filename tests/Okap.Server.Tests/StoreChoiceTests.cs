namespace Okap.Server.Tests;

/// <summary>The server chooses its store through the hosting extension both hosts share (Okap.Hosting), and refuses a choice that could hold no key.</summary>
public sealed class StoreChoiceTests
{
    private static string StartFailure(Dictionary<string, string?> settings)
    {
        using var vault = new VaultFactory();
        foreach (var (key, value) in settings) vault.Settings[key] = value;
        var error = Assert.ThrowsAny<Exception>(() => vault.CreateClient());
        return error.ToString();
    }

    [Fact]
    public void Azure_store_without_a_key_vault_is_refused_at_start_naming_the_local_alternative()
    {
        var failure = StartFailure(new()
        {
            ["Okap:Store"] = "Azure",
            ["Okap:Azure:ConnectionString"] = "UseDevelopmentStorage=true",
            ["Okap:Azure:KeyVaultUri"] = "",
        });
        Assert.Contains("Okap:Azure:KeyVaultUri is not set", failure, StringComparison.Ordinal);
        Assert.Contains("Okap:Azure:SecretStore=DataProtection", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_store_is_refused_at_start()
    {
        var failure = StartFailure(new() { ["Okap:Store"] = "Cassandra" });
        Assert.Contains("Okap:Store must be Sqlite or Azure, not 'Cassandra'", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_protection_beside_a_key_vault_is_refused_at_start()
    {
        var failure = StartFailure(new()
        {
            ["Okap:Store"] = "Azure",
            ["Okap:Azure:ConnectionString"] = "UseDevelopmentStorage=true",
            ["Okap:Azure:SecretStore"] = "DataProtection",
            ["Okap:Azure:KeyVaultUri"] = "https://example.vault.azure.net/",
        });
        Assert.Contains("choose one place for the provider keys", failure, StringComparison.Ordinal);
    }
}
