using Okap.Core;
using Okap.Core.Requests;
using Okap.Core.Tokens;
using Okap.Protocol.Admin;

namespace Okap.AspNetCore.Endpoints.Admin;

/// <summary>
/// Reads the grants an owner sends when approving narrowed or narrowing a token. A grant that leaves its models or
/// capabilities out keeps those of the basis grant for the same provider (what was asked, or what the token holds).
/// </summary>
public sealed class GrantBodies(AccessRequestParser parser)
{
    // Marks a list the owner left out of a narrowed grant (as opposed to an explicit empty list, meaning "all").
    private static readonly string[] InheritList = new string[0];

    public (IReadOnlyList<Grant>? Grants, FieldError? Error) Parse(List<GrantBody> bodies, IReadOnlyList<Grant> basis)
    {
        var parsed = new Grant[bodies.Count];
        for (var i = 0; i < bodies.Count; i++)
        {
            var (grant, invalid) = ParseOne(bodies[i], $"grants[{i}]");
            if (invalid is not null) return (null, invalid);
            parsed[i] = basis.FirstOrDefault(b => b.Provider == grant!.Provider) is not { } held ? grant! : grant! with
            {
                Models = ReferenceEquals(grant.Models, InheritList) ? held.Models : grant.Models,
                Capabilities = ReferenceEquals(grant.Capabilities, InheritList) ? held.Capabilities : grant.Capabilities,
            };
        }
        return (parsed, null);
    }

    private (Grant?, FieldError?) ParseOne(GrantBody? body, string path)
    {
        if (body is null) return (null, new FieldError(path, "entry must be an object"));
        if (string.IsNullOrEmpty(body.Provider)) return (null, new FieldError(path + ".provider", "provider is required"));
        var (limits, limitError) = AccessRequestParser.ParseLimitsForOwner(body.Limits, path + ".limits");
        if (limitError is not null) return (null, limitError);
        var (expires, expiryError) = parser.ParseExpiryForOwner(body.Expires, path + ".expires");
        if (expiryError is not null) return (null, expiryError);
        if (body.Capabilities?.FirstOrDefault(c => !Protocol.OkapCatalog.Capabilities.Contains(c)) is { } bad)
        {
            return (null, new FieldError(path + ".capabilities", $"unknown capability {bad}"));
        }
        return (new Grant(body.Provider, (IReadOnlyList<string>?)body.Models ?? InheritList, (IReadOnlyList<string>?)body.Capabilities ?? InheritList, limits!, expires), null);
    }
}
