using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Okap.Testing.Vaults;

/// <summary>Request bodies as the Python SDK and specification clients send them, and reading JSON answers.</summary>
public static class Bodies
{
    public static object Sdk(string provider = "openai", string app = "My AI App", object? limits = null, string[]? models = null, string[]? capabilities = null, string? expires = null) => new Dictionary<string, object?>
    {
        ["okap"] = "1.0",
        ["provider"] = provider,
        ["models"] = models ?? ["gpt-4o-mini", "gpt-4"],
        ["capabilities"] = capabilities ?? ["chat"],
        ["limits"] = limits ?? new { monthly_spend = 10.0, requests_per_minute = 60 },
        ["expires"] = expires ?? DateTime.UtcNow.AddDays(30).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["reason"] = "For AI-powered features",
        ["app_name"] = app,
        ["app_url"] = "https://app.example.com",
    }.Where(kv => kv.Value is not null).ToDictionary();

    public static object Spec(string app = "Example App", params string[] providers) => new
    {
        okap = "1.0",
        authorization_details = (providers.Length == 0 ? ["openai"] : providers).Select(p => new
        {
            type = "ai_model_access",
            provider = p,
            models = p == "openai" ? new[] { "gpt-4" } : [],
            capabilities = new[] { "chat", "embeddings" },
            limits = new { monthly_spend = 10.00, daily_spend = 1.00, requests_per_minute = 60, requests_per_day = 1000 },
            reason = "human-readable",
        }).ToArray(),
        client = new { name = app, url = "https://app.example.com", callback = "https://app.example.com/callback" },
    };

    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public static StringContent Raw(string json, string contentType = "application/json") => new(json, new MediaTypeHeaderValue(contentType));

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
