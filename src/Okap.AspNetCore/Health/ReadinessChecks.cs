using Microsoft.Extensions.Diagnostics.HealthChecks;
using Okap.Core;
using Okap.Core.Keys;
using Okap.Core.Tokens;

namespace Okap.AspNetCore.Health;

/// <summary>The vault's store answers: one point read of a token that never exists.</summary>
internal sealed class StoreReadinessCheck(ITokenStore tokens) : IHealthCheck
{
    private static readonly string s_probeHash = Secrets.Hash("okap_readiness-probe");

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await tokens.FindByHashAsync(s_probeHash, cancellationToken).ConfigureAwait(false);
        return HealthCheckResult.Healthy();
    }
}

/// <summary>The secret store (Key Vault, or the Data Protection store) answers: one read of a key that never exists.</summary>
internal sealed class SecretStoreReadinessCheck(ISecretStore secrets) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await secrets.GetAsync("okap-readiness-probe", "openai", cancellationToken).ConfigureAwait(false);
        return HealthCheckResult.Healthy();
    }
}
