using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;

namespace Okap.Storage.Tests;

/// <summary>
/// A Data Protection key ring kept in a folder, as DataProtectionProvider.Create would give, built from the
/// Microsoft.AspNetCore.DataProtection package alone (the SQLite store does not pull in the ASP.NET Core framework).
/// </summary>
internal static class KeyRings
{
    public static IDataProtectionProvider InFolder(string folder) =>
        new ServiceCollection()
            .AddDataProtection()
            .PersistKeysToFileSystem(new DirectoryInfo(folder))
            .Services.BuildServiceProvider()
            .GetRequiredService<IDataProtectionProvider>();
}
