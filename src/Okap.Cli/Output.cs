using System.Globalization;
using System.Text.Json.Nodes;

namespace Okap.Cli;

/// <summary>Plain-text tables and value formatting for the readable (non <c>--json</c>) output.</summary>
internal static class Output
{
    public static void Table(TextWriter w, string[] headers, IEnumerable<string[]> rows, string empty)
    {
        var all = rows.ToList();
        if (all.Count == 0)
        {
            w.WriteLine(empty);
            return;
        }
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Max(r => r[i].Length))).ToArray();
        w.WriteLine(Line(headers, widths));
        foreach (var row in all) w.WriteLine(Line(row, widths));
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();

    public static void Pairs(TextWriter w, IEnumerable<(string Name, string Value)> pairs)
    {
        var list = pairs.Where(p => p.Value.Length > 0).ToList();
        var width = list.Max(p => p.Name.Length) + 1;
        foreach (var (name, value) in list) w.WriteLine((name + ":").PadRight(width + 1) + value);
    }

    public static string S(JsonNode? node, string name) => node?[name] switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => Clean(s),
        JsonValue v => v.ToJsonString(),
        var other => other.ToJsonString(),
    };

    /// <summary>Vault text shown on a terminal: control characters (escape sequences an app could send) are dropped.</summary>
    public static string Clean(string text) => new(text.Where(c => !char.IsControl(c)).ToArray());

    public static string Time(JsonNode? node, string name) =>
        DateTimeOffset.TryParse(S(node, name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : "";

    public static string List(JsonNode? node, string name) =>
        node?[name] is JsonArray a ? (a.Count == 0 ? "*" : string.Join(",", a.Select(x => Clean(x?.GetValue<string>() ?? "")))) : "";

    public static string Money(JsonNode? node, string name) =>
        node?[name] is JsonValue v && v.TryGetValue<decimal>(out var d) ? "$" + d.ToString("0.00##", CultureInfo.InvariantCulture) : "";

    public static string Limits(JsonNode? limits)
    {
        if (limits is null) return "";
        var parts = new List<string>();
        if (Money(limits, "monthly_spend") is { Length: > 0 } m) parts.Add(m + "/month");
        if (Money(limits, "daily_spend") is { Length: > 0 } d) parts.Add(d + "/day");
        if (S(limits, "requests_per_minute") is { Length: > 0 } rpm) parts.Add(rpm + " rpm");
        if (S(limits, "requests_per_day") is { Length: > 0 } rpd) parts.Add(rpd + " rpd");
        if (S(limits, "tokens_per_request") is { Length: > 0 } tpr) parts.Add(tpr + " tokens/request");
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    public static string Providers(JsonNode? node, string name) =>
        node?[name] is JsonArray a ? string.Join(",", a.Select(g => S(g, "provider"))) : "";

    public static void Grants(TextWriter w, JsonNode? grants)
    {
        if (grants is not JsonArray a) return;
        Table(w, ["PROVIDER", "MODELS", "CAPABILITIES", "LIMITS", "EXPIRES"],
            a.Select(g => new[] { S(g, "provider"), List(g, "models"), List(g, "capabilities"), Limits(g?["limits"]), Time(g, "expires_at") }), "(none)");
    }
}
