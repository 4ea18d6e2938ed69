using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Okap.Core.Metering;
using Okap.Protocol;
using Yarp.ReverseProxy.Forwarder;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// Settles the reservation from the usage the response reported (or the stream showed), or releases it when the
/// provider produced nothing; then answers an upstream failure the forwarder could not pass on (502/504).
/// </summary>
internal sealed class SettleStep(BudgetLedger ledger, ILogger<ProxyHandler> logger) : IProxyStep
{
    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        var context = call.Http;
        var meter = call.Meter;
        if (call.Reservation is { } reservation)
        {
            var status = context.Response.StatusCode;
            if (meter is not null && meter.Started && status is >= 200 and < 300)
            {
                var usage = meter.Scanner!.GetUsageOrEstimate(call.BodyLength, completed: call.Error == ForwarderError.None);
                var cost = call.Price?.CostMicros(usage) ?? 0;
                ledger.Settle(reservation, usage, cost);
                ProxyTelemetry.Settled(context, usage, cost, priced: call.Price is not null);
            }
            else
            {
                ledger.Release(reservation);
            }
            call.Settled = true;
        }
        meter?.Release();
        return call.Error == ForwarderError.None ? Step.Next : Step.Stop(ReportUpstreamFailureAsync(call));
    }

    /// <summary>Releases a reservation the call made but never settled (it was refused or failed after reserving).</summary>
    public void ReleaseUnsettled(ProxyCall call)
    {
        if (call.Reservation is { } reservation && !call.Settled)
        {
            call.Settled = true;
            ledger.Release(reservation);
        }
    }

    private Task ReportUpstreamFailureAsync(ProxyCall call)
    {
        var context = call.Http;
        var error = call.Error;
        Log.UpstreamFailed(logger, call.Provider, error.ToString(), context.GetForwarderErrorFeature()?.Exception?.GetType().Name);
        if (context.Response.HasStarted || context.RequestAborted.IsCancellationRequested) return Task.CompletedTask;
        if (error == ForwarderError.RequestTimedOut)
            return RefusalWriter.ErrorAsync(call, 504, OkapErrorTypes.UpstreamTimeout, $"The provider '{call.Provider}' did not answer in time.");
        if (error is ForwarderError.Request or ForwarderError.RequestCreation or ForwarderError.RequestBodyDestination or ForwarderError.NoAvailableDestinations)
            return RefusalWriter.ErrorAsync(call, 502, OkapErrorTypes.UpstreamUnavailable, $"The provider '{call.Provider}' could not be reached.");
        return Task.CompletedTask;
    }
}
