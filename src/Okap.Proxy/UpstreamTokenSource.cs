using System.Collections.Concurrent;
using Azure.Core;
using Azure.Identity;

namespace Okap.Proxy;

/// <summary>Supplies the Entra ID bearer token used for Azure OpenAI / AI Foundry upstreams with no key.</summary>
public interface IUpstreamTokenSource
{
    /// <summary>
    /// A bearer token for <c>https://cognitiveservices.azure.com/.default</c> of the user-assigned identity
    /// <paramref name="clientId"/> (null: the system-assigned identity), cached by the implementation.
    /// </summary>
    ValueTask<string> GetTokenAsync(string? clientId, CancellationToken ct);
}

/// <summary>The vault's managed identities (system-assigned, or user-assigned by client id), each token cached until shortly before it expires.</summary>
internal sealed class ManagedIdentityTokenSource(TimeProvider time) : IUpstreamTokenSource
{
    private static readonly TokenRequestContext s_context = new(["https://cognitiveservices.azure.com/.default"]);
    private readonly ConcurrentDictionary<string, Identity> _identities = new(StringComparer.OrdinalIgnoreCase);

    public ValueTask<string> GetTokenAsync(string? clientId, CancellationToken ct) =>
        _identities.GetOrAdd(clientId ?? "", id => new Identity(id.Length == 0 ? null : id)).GetTokenAsync(time, ct);

    private sealed class Identity(string? clientId)
    {
        private readonly ManagedIdentityCredential _credential =
            new(clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId));
        private readonly SemaphoreSlim _gate = new(1, 1);
        private AccessToken _token;

        public async ValueTask<string> GetTokenAsync(TimeProvider time, CancellationToken ct)
        {
            if (_token.ExpiresOn - time.GetUtcNow() > TimeSpan.FromMinutes(5)) return _token.Token;
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (_token.ExpiresOn - time.GetUtcNow() > TimeSpan.FromMinutes(5)) return _token.Token;
                _token = await _credential.GetTokenAsync(s_context, ct).ConfigureAwait(false);
                return _token.Token;
            }
            finally
            {
                _gate.Release();
            }
        }
    }
}
