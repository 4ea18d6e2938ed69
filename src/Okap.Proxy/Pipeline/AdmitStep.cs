using Okap.Core.Providers;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>Serves the proxy only on its own origin, for a well-formed provider id and a path that means one thing.</summary>
internal sealed class AdmitStep : IProxyStep
{
    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        if (!OriginCheck.ServesProxy(call.Http))
            return Step.Stop(RefusalWriter.ErrorAsync(call, 404, OkapErrorTypes.NotFound, OriginCheck.WrongOriginMessage));
        if (!ProviderCatalog.IsValidId(call.Provider) || !IsSafePath(call.Path))
            return Step.Stop(RefusalWriter.ErrorAsync(call, 404, OkapErrorTypes.NotFound, "Unknown provider or path."));
        return Step.Next;
    }

    internal static bool IsSafePath(string path)
    {
        // An empty segment anywhere ("//", a leading "/" left by "/v1/openai//x") or an encoded slash is another
        // spelling of a path the route checks would read differently from the upstream.
        if (path.Contains('\\') || path.Contains("//", StringComparison.Ordinal) || path.StartsWith('/')
            || path.Contains("%2F", StringComparison.OrdinalIgnoreCase)) return false;
        foreach (var segment in path.AsSpan().Split('/'))
        {
            var s = path.AsSpan(segment);
            if (s is "." or "..") return false;
            foreach (var c in s) if (char.IsControl(c)) return false;
        }
        return true;
    }
}
