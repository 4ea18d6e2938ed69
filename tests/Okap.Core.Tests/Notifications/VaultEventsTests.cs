using Microsoft.Extensions.Logging.Abstractions;
using Okap.Core.Notifications;

namespace Okap.Core.Tests.Notifications;

public sealed class VaultEventsTests
{
    private sealed class RecordingSink : IVaultEventSink
    {
        public List<VaultEvent> Seen { get; } = [];
        public Task PublishAsync(VaultEvent vaultEvent, CancellationToken ct) { Seen.Add(vaultEvent); return Task.CompletedTask; }
    }

    private sealed class FailingSink : IVaultEventSink
    {
        public Task PublishAsync(VaultEvent vaultEvent, CancellationToken ct) => throw new InvalidOperationException("store down");
    }

    private static VaultEvent Pending(string id) => new(VaultEventTypes.RequestPending, "owner1", "request.pending:" + id, DateTimeOffset.UnixEpoch, new Dictionary<string, string?> { ["request_id"] = id });

    [Fact]
    public async Task A_failing_sink_does_not_keep_the_event_from_the_others()
    {
        var before = new RecordingSink();
        var after = new RecordingSink();
        var events = new VaultEvents([before, new FailingSink(), after], NullLogger<VaultEvents>.Instance);

        await events.PublishAsync(Pending("req_1"), CancellationToken.None);

        Assert.Equal("request.pending:req_1", Assert.Single(before.Seen).Id);
        Assert.Equal("request.pending:req_1", Assert.Single(after.Seen).Id);
    }

    [Fact]
    public async Task Cancellation_of_the_caller_is_not_swallowed()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var events = new VaultEvents([new CancellingSink()], NullLogger<VaultEvents>.Instance);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => events.PublishAsync(Pending("req_2"), cts.Token));
    }

    private sealed class CancellingSink : IVaultEventSink
    {
        public Task PublishAsync(VaultEvent vaultEvent, CancellationToken ct) { ct.ThrowIfCancellationRequested(); return Task.CompletedTask; }
    }
}
