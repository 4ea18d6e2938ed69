using Microsoft.AspNetCore.Http;
using Okap.Core;
using Okap.Core.Tokens;
using Okap.Protocol;

namespace Okap.Proxy.Pipeline;

/// <summary>
/// Finds the OKAP token wherever the provider's SDKs send a key, looks it up (cached) and takes its grant for the
/// provider: unknown, revoked and expired tokens are 401, a token without the provider 403.
/// </summary>
internal sealed class AuthenticateStep(TokenCache tokens, TimeProvider time, RefusalWriter refusals) : IProxyStep
{
    public ValueTask<bool> RunAsync(ProxyCall call)
    {
        var presented = ExtractToken(call.Http.Request);
        if (presented is null || !presented.StartsWith(Secrets.TokenPrefix, StringComparison.Ordinal))
        {
            return Step.Stop(RefusalWriter.ErrorAsync(call, 401, OkapErrorTypes.TokenInvalid,
                presented is null ? "No OKAP token was sent. Use the okap_… token as the API key." : "This is not a valid OKAP token."));
        }
        var lookup = tokens.FindAsync(Secrets.Hash(presented));
        return lookup.IsCompletedSuccessfully ? Check(call, lookup.Result) : AwaitAndCheckAsync(call, lookup);
    }

    private async ValueTask<bool> AwaitAndCheckAsync(ProxyCall call, ValueTask<TokenRecord?> lookup) =>
        await Check(call, await lookup.ConfigureAwait(false)).ConfigureAwait(false);

    private ValueTask<bool> Check(ProxyCall call, TokenRecord? token)
    {
        if (token is null)
            return Step.Stop(RefusalWriter.ErrorAsync(call, 401, OkapErrorTypes.TokenInvalid, "This OKAP token is not known to this vault."));
        var now = time.GetUtcNow();
        if (token.RevokedAt is not null)
            return Step.Stop(RefusalWriter.ErrorAsync(call, 401, OkapErrorTypes.TokenRevoked, "This OKAP token has been revoked"));
        var grant = token.GrantFor(call.Provider);
        if (token.ExpiresAt <= now || grant?.ExpiresAt <= now)
            return Step.Stop(RefusalWriter.ErrorAsync(call, 401, OkapErrorTypes.TokenExpired, "This OKAP token has expired"));
        call.Token = token;
        if (grant is null)
            return Step.Stop(refusals.RefuseAsync(call, 403, OkapErrorTypes.ProviderNotAllowed, $"This OKAP token does not grant access to provider '{call.Provider}'."));
        call.Grant = grant;
        return Step.Next;
    }

    /// <summary>The OKAP token from <c>Authorization: Bearer</c>, <c>x-api-key</c>, <c>x-goog-api-key</c>, <c>api-key</c> or <c>?key=</c>.</summary>
    internal static string? ExtractToken(HttpRequest request)
    {
        var headers = request.Headers;
        var auth = headers.Authorization;
        if (auth.Count > 0)
        {
            var value = auth[0];
            if (value is not null && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return value[7..].Trim();
        }
        if (First(headers, "x-api-key") is { } x) return x;
        if (First(headers, "x-goog-api-key") is { } g) return g;
        if (First(headers, "api-key") is { } a) return a;
        if (request.QueryString.HasValue && request.Query.TryGetValue("key", out var k) && k.Count > 0) return k[0];
        return null;
    }

    private static string? First(IHeaderDictionary headers, string name) =>
        headers.TryGetValue(name, out var v) && v.Count > 0 && !string.IsNullOrEmpty(v[0]) ? v[0]!.Trim() : null;
}
