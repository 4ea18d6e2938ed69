using System.Diagnostics;
using Okap.Core;
using Okap.Core.Accounts;
using Okap.Core.Audit;
using Okap.Core.Metering;
using Okap.Core.Tokens;

using Okap.Testing;

namespace Okap.Storage.Azure.Tests;

/// <summary>
/// Storage goes away mid-run: reads fail closed, fast, with <see cref="VaultUnavailableException"/>; once storage is
/// back, reads and writes work and nothing acknowledged before the stop is lost. Uses its own Azurite with on-disk
/// persistence (an in-memory emulator forgets everything on restart).
/// </summary>
public sealed class AzuriteFaultTests : IAsyncLifetime
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "okap-azurite-" + Guid.NewGuid().ToString("N"));
    private AzuriteProcess _azurite = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        _azurite = await AzuriteProcess.StartAsync(location: _folder);
    }

    public async Task DisposeAsync()
    {
        await _azurite.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Storage_outage_fails_closed_fast_and_loses_nothing_acknowledged()
    {
        var stores = await _azurite.CreateStoresAsync(o =>
        {
            o.TableMaxRetries = 1;
            o.TableRetryDelay = TimeSpan.FromMilliseconds(20);
            o.TableNetworkTimeout = TimeSpan.FromSeconds(2);
        });
        var token = new TokenRecord
        {
            Id = "tok_f", Hash = Secrets.Hash("okap_fault"), OwnerId = "own_f", AppName = "App", DisplayPrefix = "okap_fault",
            Grants = [new Grant("openai", [], [], Limits.None, null)], CreatedAt = T0,
        };
        await stores.Tokens.CreateAsync(token, Ct);
        await stores.Usage.AddAsync([new("own_f", UsageKeys.Grant("tok_f", "openai"), "d:2026-03-01", 1, 10, 20, 300)], Ct);
        await stores.Audit.AppendAsync(new AuditEvent { Id = "evt_f", OwnerId = "own_f", At = T0, Event = AuditEvents.TokenIssued }, Ct);
        await stores.Owners.CreateOwnerAsync(new Owner("own_f", "fault", "Fault", T0), null, Ct);

        await _azurite.StopAsync();

        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Tokens.FindByHashAsync(token.Hash, Ct));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"fail-closed took {watch.Elapsed}");
        Assert.DoesNotContain("AccountKey", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(AzuriteProcess.DevAccountKey, e.ToString(), StringComparison.Ordinal);
        await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Owners.GetOwnerAsync("own_f", Ct));
        await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Usage.GetAsync("own_f", UsageKeys.Grant("tok_f", "openai"), ["d:2026-03-01"], Ct));
        await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Audit.ListAsync("own_f", new Core.Audit.AuditQuery(), Ct));
        await Assert.ThrowsAsync<VaultUnavailableException>(() => stores.Usage.AddAsync([new("own_f", UsageKeys.Grant("tok_f", "openai"), "d:2026-03-01", 1, 0, 0, 0)], Ct));

        await _azurite.StartAsync();

        Assert.Equal(token.Id, (await stores.Tokens.FindByHashAsync(token.Hash, Ct))?.Id);
        Assert.Equal("fault", (await stores.Owners.GetOwnerAsync("own_f", Ct))?.Slug);
        Assert.Equal(["evt_f"], (await stores.Audit.ListAsync("own_f", new Core.Audit.AuditQuery(), Ct)).Items.Select(a => a.Id));
        await stores.Usage.AddAsync([new("own_f", UsageKeys.Grant("tok_f", "openai"), "d:2026-03-01", 1, 10, 20, 300)], Ct);
        var counter = Assert.Single(await stores.Usage.GetAsync("own_f", UsageKeys.Grant("tok_f", "openai"), ["d:2026-03-01"], Ct));
        Assert.Equal((2L, 20L, 40L, 600L), (counter.Requests, counter.InputTokens, counter.OutputTokens, counter.CostMicros));
        Assert.NotNull(await stores.Tokens.RevokeAsync("own_f", "tok_f", T0.AddHours(1), Ct));
    }
}
