using System.Text.Json.Serialization;

namespace Okap.Protocol;

/// <summary>Source-generated serializers for every wire model; null members are left out.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict, AllowTrailingCommas = false, ReadCommentHandling = System.Text.Json.JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(OkapAccessRequest))]
[JsonSerializable(typeof(OkapAccessResponse))]
[JsonSerializable(typeof(OkapAuthorizeRequest))]
[JsonSerializable(typeof(OkapAuthorizeResponse))]
[JsonSerializable(typeof(OkapErrorBody))]
public sealed partial class OkapJsonContext : JsonSerializerContext;
