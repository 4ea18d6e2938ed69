namespace Okap.Core.Accounts;

/// <summary>Link from an external identity (e.g. Entra ID via App Service Authentication) to an owner.</summary>
public sealed record ExternalLogin(string Issuer, string Subject, string OwnerId);
