using Okap.Core.Tokens;

namespace Okap.Core.Metering;

/// <summary>Keys used for usage counters.</summary>
public static class UsageKeys
{
    public static string Grant(string tokenId, string provider) => string.Concat(tokenId, ":", provider);
    public static string Day(DateTimeOffset at) => "d:" + at.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
    public static string Month(DateTimeOffset at) => "m:" + at.UtcDateTime.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
}
