namespace Okap.Proxy.Pipeline;

/// <summary>
/// One check or preparation of a proxied call. A step is a singleton (no per-call state outside the
/// <see cref="ProxyCall"/>); it returns true to go on, or false once it has answered the call itself (a refusal).
/// </summary>
internal interface IProxyStep
{
    ValueTask<bool> RunAsync(ProxyCall call);
}

/// <summary>Results a step returns without allocating on the path that goes on.</summary>
internal static class Step
{
    public static ValueTask<bool> Next => new(true);

    /// <summary>Stops the call once <paramref name="answer"/> (the refusal being written) completes.</summary>
    public static ValueTask<bool> Stop(Task answer) =>
        answer.IsCompletedSuccessfully ? new(false) : StopAsync(answer);

    private static async ValueTask<bool> StopAsync(Task answer)
    {
        await answer.ConfigureAwait(false);
        return false;
    }
}
