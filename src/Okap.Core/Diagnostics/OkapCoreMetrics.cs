using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Okap.Core.Diagnostics;

/// <summary>
/// The core's metrics (<see cref="MeterName"/>), defined with <c>System.Diagnostics.Metrics</c> only: a host that
/// exports nothing has no listener and every measurement is a no-op. Tags never carry a token, key or request content.
/// </summary>
public static class OkapCoreMetrics
{
    /// <summary>Name of the core's <see cref="Meter"/>.</summary>
    public const string MeterName = "Okap.Core";

    private static readonly Meter s_meter = new(MeterName);

    private static readonly Counter<long> s_leaseRenewals = s_meter.CreateCounter<long>("okap.budget.lease.renewals", "{renewal}",
        "Budget lease refills and returns written to the shared store, by outcome (ok, failed) and whether it was the final return.");

    private static readonly UpDownCounter<long> s_decisionWaits = s_meter.CreateUpDownCounter<long>("okap.access_requests.waiting", "{request}",
        "OKAP access requests held open on this instance while they wait for the owner's decision.");

    internal static void LeaseRenewed(bool ok, bool final)
    {
        if (!s_leaseRenewals.Enabled) return;
        s_leaseRenewals.Add(1, new TagList { { "okap.outcome", ok ? "ok" : "failed" }, { "okap.lease.final", final } });
    }

    internal static void DecisionWaitStarted() => s_decisionWaits.Add(1);

    internal static void DecisionWaitEnded() => s_decisionWaits.Add(-1);
}
