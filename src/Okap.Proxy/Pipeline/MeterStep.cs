namespace Okap.Proxy.Pipeline;

/// <summary>
/// Puts a <see cref="MeteringResponseStream"/> in front of a metered call's response body, so usage is read from the
/// response as it streams to the client; <see cref="ForwardStep"/> completes it and puts the client's body back.
/// </summary>
internal sealed class MeterStep : IProxyStep
{
    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        if (!call.Metered) return Step.Next;
        var response = call.Http.Response;
        call.ClientBody = response.Body;
        call.Meter = new MeteringResponseStream(response.Body, call.Format);
        response.Body = call.Meter;
        return Step.Next;
    }
}
