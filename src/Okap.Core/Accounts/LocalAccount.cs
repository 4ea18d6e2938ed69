namespace Okap.Core.Accounts;

/// <summary>A local sign-in for the self-hosted server.</summary>
public sealed record LocalAccount
{
    public required string OwnerId { get; init; }
    /// <summary>Normalised (lower-case) user name; unique.</summary>
    public required string UserName { get; init; }
    public required string PasswordHash { get; init; }
}
