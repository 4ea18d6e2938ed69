using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Okap.Protocol;
using Okap.Protocol.Admin;

namespace Okap.Cli;

/// <summary>Plain-text tables and value formatting for the readable (non <c>--json</c>) output, from the Protocol records.</summary>
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

    /// <summary>
    /// Vault text shown on a terminal: control characters (escape sequences an app could send) are dropped. Null (a
    /// member the vault left out) shows as nothing.
    /// </summary>
    public static string Clean(string? text) => text is null ? "" : new(text.Where(c => !char.IsControl(c)).ToArray());

    public static string Number(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";

    public static string Time(DateTimeOffset? at) => at?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "";

    /// <summary>A list of names: <c>*</c> when empty (any).</summary>
    public static string List(IReadOnlyList<string>? items) => items is null ? "" : items.Count == 0 ? "*" : string.Join(",", items.Select(Clean));

    public static string Money(decimal? amount) => amount is { } d ? "$" + d.ToString("0.00##", CultureInfo.InvariantCulture) : "";

    public static string Limits(OkapLimits? limits)
    {
        if (limits is null) return "";
        var parts = new List<string>();
        if (Money(limits.MonthlySpend) is { Length: > 0 } m) parts.Add(m + "/month");
        if (Money(limits.DailySpend) is { Length: > 0 } d) parts.Add(d + "/day");
        if (Number(limits.RequestsPerMinute) is { Length: > 0 } rpm) parts.Add(rpm + " rpm");
        if (Number(limits.RequestsPerDay) is { Length: > 0 } rpd) parts.Add(rpd + " rpd");
        if (Number(limits.TokensPerRequest) is { Length: > 0 } tpr) parts.Add(tpr + " tokens/request");
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    public static string Providers(IReadOnlyList<GrantView>? grants) => grants is null ? "" : string.Join(",", grants.Select(g => Clean(g.Provider)));

    public static void Grants(TextWriter w, IReadOnlyList<GrantView>? grants)
    {
        if (grants is null) return;
        Table(w, ["PROVIDER", "MODELS", "CAPABILITIES", "LIMITS", "EXPIRES"],
            grants.Select(g => new[] { Clean(g.Provider), List(g.Models), List(g.Capabilities), Limits(g.Limits), Time(g.ExpiresAt) }), "(none)");
    }
}

/// <summary>
/// The <c>--json</c> output: the vault's own JSON text, indented (and, where the command line gathers pages or filters,
/// rewritten element by element), never the records serialized again. Re-serializing a record would print a date's
/// offset as <c>+00:00</c> where the vault's text, re-indented with the default encoder, prints <c>\u002B00:00</c>, and
/// scripts may compare the output byte for byte. JsonDocument here only copies text; no command reads a value from it.
/// </summary>
internal static class JsonText
{
    /// <summary>The vault's reply indented; a body that is not JSON (or none) as it came.</summary>
    public static string Indented(string raw)
    {
        if (string.IsNullOrWhiteSpace(raw)) return raw;
        try
        {
            using var document = JsonDocument.Parse(raw);
            return Write(document.RootElement.WriteTo, indented: true);
        }
        catch (JsonException)
        {
            return raw;
        }
    }

    /// <summary>Compact JSON written by <paramref name="write"/> (as the vault writes it: the default encoder).</summary>
    public static string Write(Action<Utf8JsonWriter> write, bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            write(writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The elements of the array <paramref name="property"/> of the object <paramref name="raw"/>, in order.</summary>
    public static void WriteItems(Utf8JsonWriter writer, string raw, string property, int count)
    {
        using var document = JsonDocument.Parse(raw);
        if (!document.RootElement.TryGetProperty(property, out var items) || items.ValueKind != JsonValueKind.Array) return;
        foreach (var item in items.EnumerateArray().Take(count)) item.WriteTo(writer);
    }

    /// <summary>The object <paramref name="raw"/> with only the elements of its array <paramref name="property"/> that <paramref name="keep"/> keeps (by index).</summary>
    public static string Filtered(string raw, string property, Func<int, bool> keep) => Write(writer =>
    {
        using var document = JsonDocument.Parse(raw);
        writer.WriteStartObject();
        foreach (var member in document.RootElement.EnumerateObject())
        {
            if (member.Name != property || member.Value.ValueKind != JsonValueKind.Array)
            {
                member.WriteTo(writer);
                continue;
            }
            writer.WriteStartArray(member.Name);
            var index = 0;
            foreach (var item in member.Value.EnumerateArray())
            {
                if (keep(index++)) item.WriteTo(writer);
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    });
}
