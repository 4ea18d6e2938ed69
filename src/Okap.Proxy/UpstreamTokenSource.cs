using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Options;

namespace Okap.Proxy;

/// <summary>Supplies the Entra ID bearer token used for Azure OpenAI / AI Foundry upstreams with no key.</summary>
public interface IUpstreamTokenSource
{
    /// <summary>A bearer token for <c>https://cognitiveservices.azure.com/.default</c>, cached by the implementation.</summary>
    ValueTask<string> GetTokenAsync(CancellationToken ct);
}

/// <summary>The vault's managed identity (system-assigned, or user-assigned by client id), with the token cached until shortly before it expires.</summary>
internal sealed class ManagedIdentityTokenSource : IUpstreamTokenSource
{
    private static readonly TokenRequestContext s_context = new(["https://cognitiveservices.azure.com/.default"]);
    private readonly Lazy<TokenCredential> _credential;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AccessToken _token;

    public ManagedIdentityTokenSource(IOptions<OkapProxyOptions> options, TimeProvider time)
    {
        var clientId = options.Value.ManagedIdentityClientId;
        _credential = new(() => new ManagedIdentityCredential(clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId)));
        _time = time;
    }

    public async ValueTask<string> GetTokenAsync(CancellationToken ct)
    {
        if (_token.ExpiresOn - _time.GetUtcNow() > TimeSpan.FromMinutes(5)) return _token.Token;
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_token.ExpiresOn - _time.GetUtcNow() > TimeSpan.FromMinutes(5)) return _token.Token;
            _token = await _credential.Value.GetTokenAsync(s_context, ct).ConfigureAwait(false);
            return _token.Token;
        }
        finally
        {
            _gate.Release();
        }
    }
}
