using System.Globalization;
using Okap.Core.Providers;

namespace Okap.Proxy;

/// <summary>How limit refusals are worded and which status each SDK family gets for them.</summary>
internal static class Refusals
{
    /// <summary>
    /// The status of a spend-cap refusal. OpenAI SDKs have no error class for 402 (npm: a bare <c>APIError</c>) and
    /// OpenAI itself refuses an exhausted quota with 429 (<c>insufficient_quota</c>), so OpenAI-format callers get 429,
    /// which every OpenAI SDK raises as its rate-limit error; <c>x-should-retry: false</c> and no <c>Retry-After</c> keep
    /// the npm/Python SDKs from retrying, and the .NET SDK's three quick retries (no <c>Retry-After</c>: about 0.2 s in
    /// all) are refused again in memory. Anthropic's SDKs map 402 to a class of its own (npm <c>PaymentRequiredError</c>,
    /// .NET <c>AnthropicPaymentRequiredException</c>), so Anthropic (and Gemini, Cohere) callers keep 402, which no SDK retries.
    /// </summary>
    public static int SpendStatus(ApiFormat format) => format == ApiFormat.OpenAI ? 429 : 402;

    /// <summary>A wait as a person reads it: "3 s", "58 s", "14 min", "13 h 5 min".</summary>
    public static string Duration(TimeSpan wait)
    {
        var seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
        if (seconds < 120) return seconds.ToString(CultureInfo.InvariantCulture) + " s";
        var minutes = (seconds + 59) / 60;
        if (minutes < 120) return minutes.ToString(CultureInfo.InvariantCulture) + " min";
        return string.Create(CultureInfo.InvariantCulture, $"{minutes / 60} h {minutes % 60} min");
    }

    /// <summary>
    /// A spend refusal that says which of the two it is: the cap is used up (nothing left, no call can pass until the
    /// period turns), or this call's worst case would pass it (a smaller call, e.g. a lower max_tokens, may still fit).
    /// </summary>
    public static string SpendMessage(bool daily, long? capMicros, long remainingMicros, long worstMicros)
    {
        var (period, name) = daily ? ("day", "daily") : ("month", "monthly");
        var cap = Usd(capMicros);
        return remainingMicros <= 0
            ? $"{(daily ? "Daily" : "Monthly")} spend cap {cap} reached: this OKAP token may spend {cap} per {period} (UTC) and nothing of it remains."
            : $"{(daily ? "Daily" : "Monthly")} spend cap {cap} would be passed: this call may cost up to {Usd(worstMicros)} and {Usd(remainingMicros)} of the {name} {cap} cap remains (UTC {period}); ask for fewer output tokens or wait.";
    }

    /// <summary>Micro-USD as dollars with cents, and more digits only when they are not zero ("$5.00", "$0.000615").</summary>
    public static string Usd(long? micros) =>
        micros is { } m ? "$" + (m / 1_000_000m).ToString("0.00####", CultureInfo.InvariantCulture) : "?";
}
