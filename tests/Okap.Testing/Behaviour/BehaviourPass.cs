using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Okap.Testing.Behaviour;

/// <summary>
/// One pass of the behaviour suite: the vaults one host runs for it, started once and shared by every test of the
/// pass (an xunit collection fixture), and one fake AI provider they forward to. Two vaults, with the settings below:
/// <list type="bullet">
/// <item><see cref="Shared"/>: many owners (registration open, per-person host names under <see cref="BaseDomain"/>,
/// App Service Authentication trusted). Each test signs up its own owner, so the tests of a pass never see each
/// other's requests, tokens or keys.</item>
/// <item><see cref="Single"/>: one owner, registration closed, the platform's header not trusted (the shipped
/// defaults of both hosts): its first account needs the setup link; <see cref="SingleOwnerAsync"/> makes it once.</item>
/// </list>
/// A host's test project derives a concrete pass, which starts its vaults with these settings, and one concrete test
/// class per suite class, in the pass's collection.
/// </summary>
public abstract class BehaviourPass : IAsyncLifetime
{
    public const string BaseDomain = "vault.test";

    private readonly object _ownerLock = new();
    private Task<VaultOwner>? _singleOwner;

    public FakeProvider Fake { get; } = new();
    public VaultUnderTest Shared { get; private set; } = null!;
    public VaultUnderTest Single { get; private set; } = null!;

    /// <summary>Why this pass cannot run here, or null (then its tests are reported skipped with the reason).</summary>
    public virtual string? SkipReason => null;

    /// <summary>Settings both vaults get (in <c>Okap:…</c> form): the fake provider, a 4 s bounded wait, quick flushes.</summary>
    public IReadOnlyDictionary<string, string> CommonSettings() => new Dictionary<string, string>
    {
        ["Okap:Proxy:Providers:openai:BaseUrl"] = Fake.Url + "/openai/v1",
        // A new key is tried with its provider before it is saved: every provider the suite keeps a key for is the fake.
        ["Okap:Proxy:Providers:anthropic:BaseUrl"] = Fake.Url + "/anthropic",
        ["Okap:Proxy:FlushInterval"] = "00:00:00.500",
        ["Okap:DecisionWait"] = "00:00:04",
        ["Okap:DecisionPollInterval"] = "00:00:00.100",
        // Every test calls from 127.0.0.1: loose enough for a whole pass, still a limit.
        ["Okap:Http:PublicRequestsPerMinute"] = "3000",
        // Failed sign-ins are counted per address too: the throttle itself is tested on its own vault (SignInThrottleTests).
        ["Okap:SignIn:MaxFailuresPerAddress"] = "10000",
    };

    public static IReadOnlyDictionary<string, string> SharedSettings { get; } = new Dictionary<string, string>
    {
        ["Okap:Auth:AllowRegistration"] = "true",
        ["Okap:Auth:TrustAppServicePrincipal"] = "true",
        ["Okap:Addressing:BaseDomain"] = BaseDomain,
    };

    public static IReadOnlyDictionary<string, string> SingleSettings { get; } = new Dictionary<string, string>
    {
        ["Okap:Auth:AllowRegistration"] = "false",
        ["Okap:Auth:TrustAppServicePrincipal"] = "false",
    };

    /// <summary>Starts one vault of this pass with <paramref name="settings"/> (the common ones included); <paramref name="name"/> tells them apart.</summary>
    protected abstract Task<VaultUnderTest> StartVaultAsync(string name, IReadOnlyDictionary<string, string> settings);

    /// <summary>Anything the pass needs before its vaults (Azurite, a build).</summary>
    protected virtual Task BeforeVaultsAsync() => Task.CompletedTask;

    protected virtual Task AfterVaultsAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        if (SkipReason is not null) return;
        await Task.WhenAll(Fake.StartAsync(), BeforeVaultsAsync());
        var shared = StartVaultAsync("shared", Merge(CommonSettings(), SharedSettings));
        var single = StartVaultAsync("single", Merge(CommonSettings(), SingleSettings));
        try
        {
            await Task.WhenAll(shared, single);
        }
        finally
        {
            if (shared.IsCompletedSuccessfully) Shared = shared.Result;
            if (single.IsCompletedSuccessfully) Single = single.Result;
        }
    }

    private static Dictionary<string, string> Merge(IReadOnlyDictionary<string, string> first, IReadOnlyDictionary<string, string> second)
    {
        var merged = new Dictionary<string, string>(first);
        foreach (var (key, value) in second) merged[key] = value;
        return merged;
    }

    /// <summary>
    /// The single-owner vault's one owner, created as a person does it: with the setup secret the vault showed its
    /// operator. Made once per pass (a failure too, so every test depending on it fails with the same reason).
    /// </summary>
    public Task<VaultOwner> SingleOwnerAsync()
    {
        lock (_ownerLock) return _singleOwner ??= CreateSingleOwnerAsync();
    }

    /// <summary>The setup secret the single-owner vault's owner was created with, once <see cref="SingleOwnerAsync"/> ran.</summary>
    public string? SingleSetupToken { get; private set; }

    private async Task<VaultOwner> CreateSingleOwnerAsync()
    {
        SingleSetupToken = await Single.SetupTokenAsync();
        return await Single.SignUpAsync("owner", SingleSetupToken);
    }

    public async Task DisposeAsync()
    {
        if (Shared is not null) await Shared.DisposeAsync();
        if (Single is not null) await Single.DisposeAsync();
        await AfterVaultsAsync();
        await Fake.DisposeAsync();
    }
}

/// <summary>
/// Put on a pass's concrete test classes when the pass may be unable to run on a machine: the suite's facts are then
/// reported skipped with <see cref="SkipReason"/> instead of failing.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public abstract class PassConditionAttribute : Attribute
{
    /// <summary>Null when the pass can run here.</summary>
    public abstract string? SkipReason { get; }

    /// <summary>One skipped test case with the reason when the test's class names a pass that cannot run here, else null.</summary>
    internal static IXunitTestCase[]? Skipped(IMessageSink sink, ITestFrameworkDiscoveryOptions options, ITestMethod method) =>
        (method.TestClass.Class as IReflectionTypeInfo)?.Type.GetCustomAttributes<PassConditionAttribute>(inherit: true)
            .Select(c => c.SkipReason).FirstOrDefault(r => r is not null) is { } reason
            ? [new XunitSkippedDataRowTestCase(sink, options.MethodDisplayOrDefault(), options.MethodDisplayOptionsOrDefault(), method, reason)]
            : null;
}

/// <summary>A fact of the behaviour suite: runs in each pass, or is reported skipped where the pass's <see cref="PassConditionAttribute"/> says so.</summary>
[XunitTestCaseDiscoverer("Okap.Testing.Behaviour.PassFactDiscoverer", "Okap.Testing")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class PassFactAttribute : FactAttribute;

/// <summary>Theory form of <see cref="PassFactAttribute"/>.</summary>
[XunitTestCaseDiscoverer("Okap.Testing.Behaviour.PassTheoryDiscoverer", "Okap.Testing")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class PassTheoryAttribute : TheoryAttribute;

/// <summary>Finds the suite's facts: skipped with the pass's reason where it cannot run, else as xunit would.</summary>
public sealed class PassFactDiscoverer(IMessageSink sink) : IXunitTestCaseDiscoverer
{
    private readonly FactDiscoverer _inner = new(sink);

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        PassConditionAttribute.Skipped(sink, options, testMethod) ?? _inner.Discover(options, testMethod, factAttribute);
}

/// <summary>Theory form of <see cref="PassFactDiscoverer"/>: one skipped case where the pass cannot run.</summary>
public sealed class PassTheoryDiscoverer(IMessageSink sink) : IXunitTestCaseDiscoverer
{
    private readonly TheoryDiscoverer _inner = new(sink);

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        PassConditionAttribute.Skipped(sink, options, testMethod) ?? _inner.Discover(options, testMethod, factAttribute);
}
