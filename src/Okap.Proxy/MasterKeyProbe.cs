using System.Net;
using Microsoft.Extensions.Options;
using Okap.Core.Keys;
using Okap.Core.Providers;

namespace Okap.Proxy;

/// <summary>
/// Tries a new master key with one authenticated read that costs nothing (the provider's model list), sent the way the
/// proxy would send a call: same base URL rules, same credential header, same connection guard for owners' own URLs.
/// Only 401 and 403 refuse a key; anything else (outage, 404 from a proxy that lists no models, 429) leaves it unverified
/// and saved, so a provider's bad minute never stops an owner from storing a good key.
/// </summary>
internal sealed class MasterKeyProbe(UpstreamClient client, TimeProvider time, IOptions<OkapProxyOptions> options) : IMasterKeyCheck
{
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly OkapProxyOptions _options = options.Value;

    public async Task<MasterKeyCheckResult> CheckAsync(MasterKeyCandidate candidate, CancellationToken ct)
    {
        if (candidate.AuthKind is MasterKeyAuthKinds.ManagedIdentity or MasterKeyAuthKinds.None || string.IsNullOrEmpty(candidate.Key))
        {
            return new MasterKeyCheckResult(MasterKeyCheckOutcome.Skipped, "no key to check");
        }
        var provider = ProviderCatalog.Resolve(candidate.Provider);
        var baseUrl = (candidate.BaseUrl ?? UpstreamResolver.OperatorBaseUrl(_options, provider))?.TrimEnd('/');
        if (baseUrl is null) return new MasterKeyCheckResult(MasterKeyCheckOutcome.Skipped, "no endpoint to check against");
        var (header, value) = UpstreamResolver.CredentialHeader(provider, candidate.AuthKind, candidate.Key);
        var path = ProbePath(provider.Format);

        using var request = new HttpRequestMessage(HttpMethod.Get, baseUrl + path) { Version = HttpVersion.Version11 };
        request.Headers.TryAddWithoutValidation(header, value);
        if (provider.Format == ApiFormat.Anthropic) request.Headers.TryAddWithoutValidation("anthropic-version", "2023-06-01");
        var invoker = candidate.BaseUrl is null ? client.Invoker : client.OwnerInvoker;
        var name = ProviderName(candidate.Provider);
        using var deadline = new CancellationTokenSource(Timeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        try
        {
            using var response = await invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            // The provider's error text is not passed on: some echo part of the key they were given.
            return status switch
            {
                >= 200 and < 300 => new MasterKeyCheckResult(MasterKeyCheckOutcome.Accepted, $"{name} accepted the key"),
                401 or 403 => new MasterKeyCheckResult(MasterKeyCheckOutcome.Refused,
                    $"{name} refused this key (HTTP {status} to GET {path}); it was not saved. Check that you pasted the whole key and that it is still active."),
                _ => new MasterKeyCheckResult(MasterKeyCheckOutcome.Unverified, $"{name} answered HTTP {status} to GET {path}, which says nothing about the key; saved without a check"),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new MasterKeyCheckResult(MasterKeyCheckOutcome.Unverified, $"{name} did not answer within {Timeout.TotalSeconds:0} s; saved without a check");
        }
        catch (HttpRequestException)
        {
            return new MasterKeyCheckResult(MasterKeyCheckOutcome.Unverified, $"{name} could not be reached; saved without a check");
        }
    }

    /// <summary>Each format's cheapest authenticated read, relative to the base URL the proxy forwards to.</summary>
    internal static string ProbePath(ApiFormat format) => format switch
    {
        ApiFormat.Anthropic => "/v1/models?limit=1",
        ApiFormat.Gemini => "/v1beta/models?pageSize=1",
        ApiFormat.Cohere => "/v1/models?page_size=1",
        _ => "/models",
    };

    private static string ProviderName(string id) => id switch
    {
        "openai" => "OpenAI",
        "anthropic" => "Anthropic",
        "google" => "Google",
        "groq" => "Groq",
        "together" => "Together",
        "mistral" => "Mistral",
        "cohere" => "Cohere",
        "ollama" => "Ollama",
        _ => "The upstream for '" + id + "'",
    };
}
