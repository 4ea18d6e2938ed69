using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Okap.Core.Accounts;
using Okap.Testing.Behaviour;

namespace Okap.Server.Tests.Behaviour;

/// <summary>
/// The self-hosted server as a vault under test: <see cref="VaultFactory"/> on a real loopback socket (Kestrel), on
/// SQLite, or on Azurite and the Key Vault fake when <c>OKAP_TEST_STORE=azure</c>.
/// </summary>
public sealed class ServerVault : VaultUnderTest
{
    private readonly VaultFactory _factory;

    public ServerVault(IReadOnlyDictionary<string, string> settings)
    {
        _factory = new VaultFactory();
        foreach (var (key, value) in settings) _factory.Settings[key] = value;
        BaseDomain = settings.TryGetValue("Okap:Addressing:BaseDomain", out var domain) && domain.Length > 0 ? domain : null;
        Url = _factory.StartOnLoopback();
    }

    public override string Url { get; }
    public override StoreKind Store => VaultFactory.OnAzure ? StoreKind.Azurite : StoreKind.Sqlite;
    public override string HostKind => "server";
    public override string? BaseDomain { get; }
    public override string LogText => _factory.Logs.All;

    public override Task<string> StoredTextAsync() => Task.FromResult(Encoding.UTF8.GetString(_factory.DatabaseBytes()));

    // The server prints this link at start-up; a fresh one from the same service replaces it.
    public override async Task<string> SetupTokenAsync() =>
        await _factory.Services.GetRequiredService<AccountService>().IssueSetupTokenAsync(CancellationToken.None)
        ?? throw new InvalidOperationException("an account exists already");

    public override async ValueTask DisposeAsync() => await _factory.DisposeAsync();
}

/// <summary>The behaviour suite's pass on the self-hosted server (SQLite, or Azurite with <c>OKAP_TEST_STORE=azure</c>).</summary>
public sealed class ServerPass : BehaviourPass
{
    protected override Task<VaultUnderTest> StartVaultAsync(string name, IReadOnlyDictionary<string, string> settings) =>
        Task.Run<VaultUnderTest>(() => new ServerVault(settings));
}

[CollectionDefinition(Name)]
public sealed class ServerPassCollection : ICollectionFixture<ServerPass>
{
    public const string Name = "behaviour suite on the server";
}

[Collection(ServerPassCollection.Name)] public sealed class AccountOnServer(ServerPass pass) : AccountBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class SignInSecurityOnServer(ServerPass pass) : SignInSecurityBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class AccessKeyScopeOnServer(ServerPass pass) : AccessKeyScopeBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class PlatformSignInOnServer(ServerPass pass) : PlatformSignInBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class SdkShapeOnServer(ServerPass pass) : SdkShapeBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class SpecShapeOnServer(ServerPass pass) : SpecShapeBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class InputAndAdminOnServer(ServerPass pass) : InputAndAdminBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class OwnerIsolationOnServer(ServerPass pass) : OwnerIsolationBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class PageOnServer(ServerPass pass) : PageBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class ProxyOnServer(ServerPass pass) : ProxyBehaviour(pass);
[Collection(ServerPassCollection.Name)] public sealed class SecretsOnServer(ServerPass pass) : SecretsBehaviour(pass);
