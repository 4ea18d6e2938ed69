namespace Okap.Core.Audit;

/// <summary>
/// Which credential is acting, for the audit trail: set once where a request is authenticated (it flows down the
/// async call), read by <see cref="AuditLog"/> for every entry written meanwhile. Never holds a secret.
/// </summary>
public static class AuditActor
{
    private static readonly AsyncLocal<string?> Ambient = new();

    /// <summary>The vault itself (expiry, start-up), when nothing else acts.</summary>
    public const string Vault = "vault";

    /// <summary>An app on the public OKAP routes (its name is in the entry's app field).</summary>
    public const string App = "app";

    /// <summary>The actor of the current call, or <see cref="Vault"/>.</summary>
    public static string Current => Ambient.Value ?? Vault;

    /// <summary>Makes <paramref name="actor"/> the actor of what runs until the returned scope is disposed.</summary>
    public static IDisposable Use(string actor)
    {
        var previous = Ambient.Value;
        Ambient.Value = actor;
        return new Restore(previous);
    }

    /// <summary>A browser session; its id is short and not the cookie (which is the secret).</summary>
    public static string Session(string sessionId) => "session:" + sessionId;

    /// <summary>A personal access key, by id and name (the id is the key's public handle, not its secret).</summary>
    public static string AccessKey(string keyId, string name) => $"access_key:{keyId} ({name})";

    /// <summary>A principal signed in through the hosting platform (App Service Authentication).</summary>
    public static string Platform(string provider, string subject) => $"platform:{provider}/{subject}";

    /// <summary>An app calling the proxy with one of its tokens (by id, never the token).</summary>
    public static string Token(string tokenId) => "token:" + tokenId;

    /// <summary>An auto-approval policy deciding a request.</summary>
    public static string Policy(string policyId) => "policy:" + policyId;

    /// <summary>Someone signing in with a password (before a session exists).</summary>
    public static string Password(string userName) => "password:" + userName;

    private sealed class Restore(string? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}
