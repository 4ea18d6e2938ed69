using System.Globalization;
using System.Text.Json;
using Okap.Core.Metering;

namespace Okap.Proxy;

/// <summary>
/// Usage batches the store would not take at shutdown, one file each on local disk, for the next process on the
/// same machine to write. A batch keeps its writer id and sequence number, so writing it again after a crash between
/// "written" and "file deleted" counts nothing twice. Files are written to a temporary name, flushed to disk and then
/// renamed, so a half-written file is never read.
/// </summary>
internal sealed class UsageSpool(string directory)
{
    private const string Extension = ".usage.json";

    public string Directory { get; } = directory;

    public void Save(UsageBatch batch)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var name = Path.Combine(Directory, string.Create(CultureInfo.InvariantCulture, $"{batch.WriterId}-{batch.Seq:D12}{Extension}"));
        var temp = name + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var json = new Utf8JsonWriter(file))
            {
                json.WriteStartObject();
                json.WriteString("writer", batch.WriterId);
                json.WriteNumber("seq", batch.Seq);
                json.WriteStartArray("deltas");
                foreach (var d in batch.Deltas)
                {
                    json.WriteStartObject();
                    json.WriteString("owner", d.OwnerId);
                    json.WriteString("grant", d.GrantKey);
                    json.WriteString("period", d.Period);
                    json.WriteNumber("requests", d.Requests);
                    json.WriteNumber("input", d.InputTokens);
                    json.WriteNumber("output", d.OutputTokens);
                    json.WriteNumber("cost", d.CostMicros);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, name, overwrite: true);
    }

    /// <summary>Every spooled batch, in writer and sequence order, with its file.</summary>
    public IReadOnlyList<(UsageBatch Batch, string File)> Load()
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        var batches = new List<(UsageBatch, string)>();
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*" + Extension).Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = doc.RootElement;
            var deltas = root.GetProperty("deltas").EnumerateArray().Select(d => new UsageCounter(
                d.GetProperty("owner").GetString()!, d.GetProperty("grant").GetString()!, d.GetProperty("period").GetString()!,
                d.GetProperty("requests").GetInt64(), d.GetProperty("input").GetInt64(), d.GetProperty("output").GetInt64(), d.GetProperty("cost").GetInt64())).ToArray();
            batches.Add((new UsageBatch(root.GetProperty("writer").GetString()!, root.GetProperty("seq").GetInt64(), deltas), file));
        }
        return batches;
    }

    public void Delete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Written already: a later start writes it again, and the store's writer mark skips it.
        }
    }
}
