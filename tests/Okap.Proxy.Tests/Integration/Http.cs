using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Okap.Proxy.Tests.Integration;

internal static class Http
{
    public static HttpRequestMessage Json(HttpMethod method, string path, string json, params (string Name, string Value)[] headers)
    {
        var req = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        foreach (var (n, v) in headers) req.Headers.TryAddWithoutValidation(n, v);
        return req;
    }

    public static HttpRequestMessage Post(string path, string json, params (string Name, string Value)[] headers) => Json(HttpMethod.Post, path, json, headers);

    public static string Chat(string model = "gpt-4o-mini", bool stream = false, string extra = "") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Hi"}]{{(stream ? ",\"stream\":true" : "")}}{{extra}}}""";

    public static async Task<JsonNode> BodyJson(this HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    public static async Task AssertError(this HttpResponseMessage response, int status, string type)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        var json = JsonNode.Parse(body)!;
        Assert.Equal(type, (string?)json["error"]!["type"]);
        Assert.Equal(type, (string?)json["error"]!["code"]);
        Assert.False(string.IsNullOrEmpty((string?)json["error"]!["message"]));
        Assert.Equal("error", (string?)json["type"]);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString());
    }
}
