using System.Globalization;
using Microsoft.Extensions.Options;

namespace Okap.Core.Keys;

internal sealed class ManagedIdentityGrantOptionsValidator : IValidateOptions<ManagedIdentityGrantOptions>
{
    public ValidateOptionsResult Validate(string? name, ManagedIdentityGrantOptions options)
    {
        var errors = new List<string>();
        foreach (var (owner, grant) in options.Owners)
        {
            var prefix = $"{ManagedIdentityGrantOptions.Section}:Owners:{owner}";
            if (grant.ClientId is { } id && !Guid.TryParse(id, CultureInfo.InvariantCulture, out _)) errors.Add($"{prefix}:ClientId must be a GUID.");
            if (grant.Hosts.Length == 0 && grant.ClientId is null) errors.Add($"{prefix} needs Hosts, a ClientId, or both.");
            foreach (var host in grant.Hosts)
            {
                var bare = host.StartsWith('.') ? host[1..] : host;
                if (bare.Length == 0 || bare.EndsWith('.') || Uri.CheckHostName(bare) != UriHostNameType.Dns && Uri.CheckHostName(bare) != UriHostNameType.IPv4)
                    errors.Add($"{prefix}:Hosts: '{host}' is not a host name (no scheme, port or path; a leading dot matches sub-domains).");
            }
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
