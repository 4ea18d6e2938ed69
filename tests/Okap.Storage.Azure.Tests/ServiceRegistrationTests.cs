using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Policies;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Okap.Storage.Azure.KeyVault;
using Okap.Storage.Azure.Tables;

namespace Okap.Storage.Azure.Tests;

public sealed class ServiceRegistrationTests
{
    private static IConfiguration Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(p => "Okap:Azure:" + p.Key, p => p.Value)).Build().GetSection("Okap:Azure");

    [Fact]
    public void Registers_one_singleton_for_every_store_interface()
    {
        using var provider = new ServiceCollection()
            .AddOkapAzureStores(Section(new() { ["ConnectionString"] = "UseDevelopmentStorage=true", ["TablePrefix"] = "okapx", ["UsageShards"] = "8" }))
            .BuildServiceProvider();

        var stores = provider.GetRequiredService<IVaultStores>();
        Assert.IsType<AzureTableVaultStores>(stores);
        Assert.Same(stores.Owners, provider.GetRequiredService<IOwnerStore>());
        Assert.Same(stores.Requests, provider.GetRequiredService<IRequestStore>());
        Assert.Same(stores.Tokens, provider.GetRequiredService<ITokenStore>());
        Assert.Same(stores.Keys, provider.GetRequiredService<IKeyMetadataStore>());
        Assert.Same(stores.Policies, provider.GetRequiredService<IPolicyStore>());
        Assert.Same(stores.AccessKeys, provider.GetRequiredService<IAccessKeyStore>());
        Assert.Same(stores.Usage, provider.GetRequiredService<IUsageStore>());
        Assert.Same(stores.Audit, provider.GetRequiredService<IAuditStore>());
        Assert.Same(stores.Prices, provider.GetRequiredService<Okap.Core.Pricing.IPriceOverrideStore>());
        Assert.Same(stores, provider.GetRequiredService<IVaultStores>());
        Assert.Null(provider.GetService<ISecretStore>()); // no Key Vault configured
        Assert.All(((AzureTableVaultStores)stores).TableNames, n => Assert.StartsWith("okapx", n, StringComparison.Ordinal));
        Assert.Equal(8, provider.GetRequiredService<IOptions<AzureStorageOptions>>().Value.UsageShards);
    }

    [Fact]
    public void Key_vault_uri_registers_the_key_vault_secret_store()
    {
        using var provider = new ServiceCollection()
            .AddOkapAzureStores(Section(new()
            {
                ["TableServiceUri"] = "https://acct.table.core.windows.net",
                ["KeyVaultUri"] = "https://vault.vault.azure.net/",
                ["ManagedIdentityClientId"] = "6f1b1c43-3b0b-4b5a-9c5e-0c7a1e2f3a4b",
            }))
            .BuildServiceProvider();
        Assert.IsType<KeyVaultSecretStore>(provider.GetRequiredService<ISecretStore>());
        Assert.IsType<AzureTableVaultStores>(provider.GetRequiredService<IVaultStores>());
    }

    [Theory]
    [InlineData(null, null, "okap", "exactly one")]
    [InlineData("https://a.table.core.windows.net", "UseDevelopmentStorage=true", "okap", "exactly one")]
    [InlineData("http://a.table.core.windows.net", null, "okap", "https")]
    [InlineData(null, "UseDevelopmentStorage=true", "1bad", "TablePrefix")]
    [InlineData(null, "UseDevelopmentStorage=true", "bad-prefix", "TablePrefix")]
    public void Invalid_options_fail_validation(string? uri, string? connection, string prefix, string expected)
    {
        using var provider = new ServiceCollection()
            .AddOkapAzureStores(Section(new() { ["TableServiceUri"] = uri, ["ConnectionString"] = connection, ["TablePrefix"] = prefix }))
            .BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<AzureStorageOptions>>().Value);
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Validation_runs_at_start_up()
    {
        var services = new ServiceCollection().AddOkapAzureStores(Section(new() { ["TablePrefix"] = "okap" }));
        Assert.Contains(services, d => d.ServiceType == typeof(IValidateOptions<AzureStorageOptions>));
        Assert.Contains(services, d => d.ServiceType.Name == "IStartupValidator" || d.ImplementationType?.Name.Contains("StartupValidator", StringComparison.Ordinal) == true
            || d.ServiceType.Name.Contains("ValidateOnStart", StringComparison.Ordinal) || d.ServiceType.Name.Contains("StartupValidatorOptions", StringComparison.Ordinal));
    }

    [Fact]
    public void Key_vault_options_are_rejected_when_not_https()
    {
        var result = new AzureStorageOptionsValidator().Validate(null, new AzureStorageOptions { ConnectionString = "x", KeyVaultUri = "http://vault.example.com" });
        Assert.True(result.Failed);
        Assert.Contains("KeyVaultUri", result.FailureMessage, StringComparison.Ordinal);
    }
}
