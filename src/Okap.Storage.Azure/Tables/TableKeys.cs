using System.Globalization;
using System.Text;
using System.Text.Json;
using Okap.Core.Accounts;

namespace Okap.Storage.Azure.Tables;

/// <summary>Builds partition and row keys that are valid for Table Storage and never ambiguous.</summary>
internal static class TableKeys
{
    /// <summary>Separator between parts of a composite key; <see cref="Escape"/> never lets it through.</summary>
    public const char Separator = '|';

    /// <summary>
    /// Escapes characters Table Storage forbids in keys (<c>/ \ # ?</c>, control characters) plus <c>%</c>, the escape
    /// character <c>~</c> and the <see cref="Separator"/> as <c>~XX</c> (all of them are below U+0100). Injective,
    /// so two different ids never share a key.
    /// </summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var needs = false;
        foreach (var c in value)
        {
            if (MustEscape(c)) { needs = true; break; }
        }
        if (!needs) return value;
        var builder = new StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (MustEscape(c))
            {
                builder.Append('~').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else builder.Append(c);
        }
        return builder.ToString();
    }

    private static bool MustEscape(char c) =>
        c is '/' or '\\' or '#' or '?' or '%' or '~' or Separator || c < 0x20 || c is >= (char)0x7F and <= (char)0x9F;

    /// <summary>Owner partition: everything one owner has in a table.</summary>
    public static string Owner(string ownerId) => "o" + Separator + Escape(ownerId);

    /// <summary>Hash partition: first two hex characters of the hash, 256 partitions spread the data-plane reads.</summary>
    public static string HashPartition(string hash) => "h" + Separator + Escape(hash.Length >= 2 ? hash[..2] : hash);

    /// <summary>Descending time key: <c>(MaxValue.UtcTicks − at.UtcTicks):D19</c>, so newer rows sort first.</summary>
    public static string Inverted(DateTimeOffset at) =>
        (DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks).ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>Smallest string greater than every string that starts with <paramref name="prefix"/>.</summary>
    public static string PrefixEnd(string prefix) => prefix[..^1] + (char)(prefix[^1] + 1);
}

/// <summary>
/// Opaque continuation tokens. Pages are cut by row key (keyset paging): the token carries the last row key
/// returned, base64url-encoded JSON with a version, so exact page sizes work with server-side filters too.
/// </summary>
internal static class ContinuationTokens
{
    private const int Version = 1;

    public static string Encode(string lastRowKey)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new ContinuationState(Version, lastRowKey), StorageJsonContext.Default.ContinuationState);
        return Convert.ToBase64String(json).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The last row key of the previous page, or null for the first page.</summary>
    public static string? Decode(string? token)
    {
        if (string.IsNullOrEmpty(token)) return null;
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var state = JsonSerializer.Deserialize(Convert.FromBase64String(base64), StorageJsonContext.Default.ContinuationState);
            if (state is null || state.V != Version || string.IsNullOrEmpty(state.K)) throw new FormatException();
            return state.K;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new Okap.Core.InvalidContinuationException(nameof(token));
        }
    }
}

internal sealed record ContinuationState(int V, string K);
