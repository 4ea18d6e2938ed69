using System.Security.Cryptography;
using System.Text;

namespace Okap.Core;

/// <summary>Generates and hashes the vault's secrets: tokens, poll handles, access keys, ids.</summary>
public static class Secrets
{
    /// <summary>Prefix of every OKAP token.</summary>
    public const string TokenPrefix = "okap_";
    /// <summary>Prefix of personal access keys for the admin API.</summary>
    public const string AccessKeyPrefix = "okap_pat_";
    /// <summary>Prefix of spec-shape poll handles.</summary>
    public const string PollHandlePrefix = "okap_poll_";

    /// <summary>A new OKAP token: <c>okap_</c> + 256 random bits, base64url.</summary>
    public static string NewToken() => TokenPrefix + RandomBase64Url(32);

    public static string NewAccessKey() => AccessKeyPrefix + RandomBase64Url(32);

    public static string NewPollHandle() => PollHandlePrefix + RandomBase64Url(32);

    /// <summary>A new public id such as <c>req_3kq…</c> (96 random bits).</summary>
    public static string NewId(string prefix) => prefix + "_" + RandomBase64Url(12);

    /// <summary>Lower-case hex SHA-256 of a secret: what the stores keep.</summary>
    public static string Hash(string secret)
    {
        Span<byte> utf8 = secret.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(secret.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(secret.Length)];
        var length = Encoding.UTF8.GetBytes(secret, utf8);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>The part of a secret safe to show: its prefix and a few characters.</summary>
    public static string DisplayPrefix(string secret) => secret.Length <= 12 ? secret[..Math.Min(secret.Length, 5)] : secret[..12];

    /// <summary>Last four characters of a master key (all that is ever shown).</summary>
    public static string Last4(string key) => key.Length <= 4 ? new string('•', key.Length) : key[^4..];

    private static string RandomBase64Url(int bytes)
    {
        Span<byte> buffer = stackalloc byte[bytes];
        RandomNumberGenerator.Fill(buffer);
        return Convert.ToBase64String(buffer).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
