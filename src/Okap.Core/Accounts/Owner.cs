namespace Okap.Core.Accounts;

/// <summary>A person who owns a vault. Every other record is scoped by <see cref="Id"/>.</summary>
/// <param name="Slug">Lower-case name used in the owner's vault address (<c>{slug}.{base domain}</c>).</param>
public sealed record Owner(string Id, string Slug, string DisplayName, DateTimeOffset CreatedAt);
