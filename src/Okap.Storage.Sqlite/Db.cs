using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Data.Sqlite;
using Okap.Core;
using Okap.Core.Tokens;

namespace Okap.Storage.Sqlite;

/// <summary>Small helpers shared by the stores: commands, parameters, time and JSON columns, continuation tokens.</summary>
internal static class Db
{
    /// <summary>Fixed-width ISO-8601 UTC with 100 ns precision: exact round trip and text order equals time order.</summary>
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public const int MaxPageSize = 1000;

    public static SqliteCommand Command(this SqliteConnection connection, string sql, SqliteTransaction? tx = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        return command;
    }

    public static SqliteCommand With(this SqliteCommand command, string name, object? value)
    {
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static object Time(DateTimeOffset? value) => value is { } v ? Time(v) : DBNull.Value;

    public static DateTimeOffset ParseTime(string text) =>
        new(DateTime.SpecifyKind(DateTime.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), DateTimeKind.Utc));

    public static DateTimeOffset GetTime(this SqliteDataReader reader, int ordinal) => ParseTime(reader.GetString(ordinal));

    public static DateTimeOffset? GetNullableTime(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ParseTime(reader.GetString(ordinal));

    public static string? GetNullableString(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static int? GetNullableInt32(this SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt32(ordinal);

    public static string Json<T>(T value, JsonTypeInfo<T> info) => System.Text.Json.JsonSerializer.Serialize(value, info);

    public static T FromJson<T>(string json, JsonTypeInfo<T> info) =>
        System.Text.Json.JsonSerializer.Deserialize(json, info) ?? throw new InvalidDataException("A JSON column holds null.");

    public static string Grants(IReadOnlyList<Grant> grants) => Json(grants, SqliteJsonContext.Default.IReadOnlyListGrant);

    public static IReadOnlyList<Grant> ReadGrants(this SqliteDataReader reader, int ordinal) =>
        FromJson(reader.GetString(ordinal), SqliteJsonContext.Default.IReadOnlyListGrant);

    public static string Strings(IReadOnlyList<string> values) => Json(values, SqliteJsonContext.Default.IReadOnlyListString);

    public static IReadOnlyList<string> ReadStrings(this SqliteDataReader reader, int ordinal) =>
        FromJson(reader.GetString(ordinal), SqliteJsonContext.Default.IReadOnlyListString);

    public static int CheckPageSize(int pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        return Math.Min(pageSize, MaxPageSize);
    }

    /// <summary>Opaque token for "continue after the row with this (time, id)" in a newest-first listing.</summary>
    public static string Continuation(string sortTime, string id) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Concat("1\n", sortTime, "\n", id)));

    public static (string SortTime, string Id) ParseContinuation(string token)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token)).Split('\n');
            if (parts.Length == 3 && parts[0] == "1" && parts[1].Length > 0 && parts[2].Length > 0)
            {
                _ = ParseTime(parts[1]);
                return (parts[1], parts[2]);
            }
        }
        catch (FormatException)
        {
        }
        throw new Okap.Core.InvalidContinuationException(nameof(token));
    }

    /// <summary>Runs a newest-first keyset page query: <paramref name="selectAndFilter"/> is <c>SELECT … FROM … WHERE …</c>; the keyset condition, order and limit are appended.</summary>
    public static async Task<Page<T>> PageAsync<T>(
        SqliteConnection connection,
        string selectAndFilter,
        string timeColumn,
        Action<SqliteCommand> bind,
        Func<SqliteDataReader, T> map,
        Func<T, (DateTimeOffset Time, string Id)> sortKey,
        int pageSize,
        string? continuationToken,
        CancellationToken ct)
    {
        var take = CheckPageSize(pageSize);
        var sql = new StringBuilder(selectAndFilter);
        (string Time, string Id)? after = continuationToken is null ? null : ParseContinuation(continuationToken);
        if (after is not null)
        {
            sql.Append(" AND (").Append(timeColumn).Append(" < @after_t OR (").Append(timeColumn).Append(" = @after_t AND id < @after_id))");
        }
        sql.Append(" ORDER BY ").Append(timeColumn).Append(" DESC, id DESC LIMIT @take;");

        await using var command = connection.Command(sql.ToString());
        bind(command);
        if (after is { } a)
        {
            command.With("@after_t", a.Time).With("@after_id", a.Id);
        }
        command.With("@take", take + 1);

        var items = new List<T>(Math.Min(take + 1, 64));
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                items.Add(map(reader));
            }
        }
        string? next = null;
        if (items.Count > take)
        {
            items.RemoveAt(items.Count - 1);
            var (time, id) = sortKey(items[^1]);
            next = Continuation(Time(time), id);
        }
        return new Page<T>(items, next);
    }
}
