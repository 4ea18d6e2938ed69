using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace Okap.Storage.Azure.Tests;

[Collection(AzuriteCollection.Name)]
public sealed class KeyRingTests(AzuriteFixture azurite)
{
    private ServiceProvider Instance(string prefix) => azurite.Instance(prefix);

    [Fact]
    public void Instances_of_the_hosted_vault_share_one_data_protection_key_ring()
    {
        var prefix = "k" + Guid.NewGuid().ToString("N")[..10];
        using var first = Instance(prefix);
        using var second = Instance(prefix);
        using var stranger = Instance("k" + Guid.NewGuid().ToString("N")[..10]);

        var sealedText = first.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("session");

        Assert.Equal("session", second.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(sealedText));
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() =>
            stranger.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(sealedText));
    }
}
