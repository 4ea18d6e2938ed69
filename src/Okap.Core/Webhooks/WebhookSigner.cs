using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Okap.Core.Webhooks;

/// <summary>
/// Standard Webhooks signing (https://www.standardwebhooks.com): a secret <c>whsec_{base64 key}</c>, and per message
/// the headers <c>webhook-id</c>, <c>webhook-timestamp</c> (Unix seconds) and
/// <c>webhook-signature: v1,{base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")}</c>, which every Standard Webhooks
/// library (and a few lines of code) verifies.
/// </summary>
public static class WebhookSigner
{
    /// <summary>The prefix of every endpoint secret.</summary>
    public const string SecretPrefix = "whsec_";

    /// <summary>Header names, as the specification spells them.</summary>
    public const string IdHeader = "webhook-id", TimestampHeader = "webhook-timestamp", SignatureHeader = "webhook-signature";

    // 32 random bytes: the key length of HMAC-SHA256, inside the 24–64 bytes the specification asks for.
    private const int KeyBytes = 32;

    /// <summary>A new endpoint secret, <c>whsec_</c> and 32 random bytes in base64. Show it once; store it protected.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>A new message id (<c>msg_</c> and 16 random bytes, base64url): the same for every retry of one event.</summary>
    public static string NewMessageId() => "msg_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// The <c>webhook-signature</c> value for one message: <c>v1,</c> and the base64 HMAC-SHA256 of
    /// <c>{id}.{timestamp}.{body}</c> under the secret's key.
    /// </summary>
    /// <exception cref="FormatException">The secret is not <c>whsec_</c> followed by base64.</exception>
    public static string Sign(string secret, string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(messageId);
        var key = Key(secret);
        var prefix = Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{messageId}.{timestamp}."));
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }

    /// <summary>Whether <paramref name="secret"/> has the shape <see cref="NewSecret"/> gives.</summary>
    public static bool IsSecret(string? secret)
    {
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal)) return false;
        try { return Key(secret).Length >= 24; }
        catch (FormatException) { return false; }
    }

    private static byte[] Key(string secret) =>
        secret.StartsWith(SecretPrefix, StringComparison.Ordinal)
            ? Convert.FromBase64String(secret[SecretPrefix.Length..])
            : throw new FormatException("A webhook secret starts with whsec_.");
}
