namespace Okap.Core;

/// <summary>
/// Storage or the secret store could not be reached. The proxy answers 503 <c>vault_unavailable</c>
/// (fail closed). The message never carries a key, token or connection string.
/// </summary>
public sealed class VaultUnavailableException : Exception
{
    public VaultUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}
