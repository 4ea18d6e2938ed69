using System.Text.Json.Serialization;
using Okap.Core.Tokens;

namespace Okap.Storage.Azure.Tables;

/// <summary>JSON of list-valued properties (grants, limits, string lists), generated at compile time.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<Grant>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(Limits))]
[JsonSerializable(typeof(ContinuationState))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;
