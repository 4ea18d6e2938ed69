using System.Text.Json.Serialization;
using Okap.Core.Tokens;

namespace Okap.Storage.Sqlite;

/// <summary>Source-generated JSON for the columns that hold lists and limits.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<Grant>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(Limits))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;
