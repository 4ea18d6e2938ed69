using System.Net;
using System.Net.Http.Json;
using System.Text;
using Okap.Testing.Vaults;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>
/// OpenTelemetry under the real Functions host: with only the standard <c>OTEL_EXPORTER_OTLP_*</c> settings, the worker
/// exports over OTLP/HTTP to a collector in the test, its proxy span and call metric carry what <c>Okap.Telemetry</c>
/// defines under the configured service name, and no token, master key, prompt or password is in any exported byte.
/// (The host's own export, host.json <c>telemetryMode</c>, is not switched on: see docs/functions.md.)
/// </summary>
[Collection(FunctionsPassCollection.Name)]
public sealed class TelemetryUnderHostTests(FunctionsPass pass)
{
    private static readonly TimeSpan ExportWait = TimeSpan.FromSeconds(30);

    [HostFact]
    public async Task The_worker_exports_the_proxied_call_over_otlp_under_the_host_without_any_secret()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        var port = FunctionsHost.FreePort();
        var environment = pass.Environment("otel", port, new Dictionary<string, string>(pass.CommonSettings()) { ["Okap:Auth:AllowRegistration"] = "true" });
        // What an operator sets for an OTLP collector; host.json already switches the host to OpenTelemetry.
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url;
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        // Short export intervals, so that the test waits for seconds, not the default 5 s / 60 s.
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        environment["OTEL_METRIC_EXPORT_INTERVAL"] = "500";
        var host = await FunctionsHost.StartAsync(pass.AppFolder, environment, port, TimeSpan.FromMinutes(2));
        string token, masterKey, prompt = "prompt-" + Guid.NewGuid().ToString("N");
        try
        {
            var vault = new HostedVault(host, pass.Azurite.ConnectionString, "otel", baseDomain: null);
            var owner = await vault.SignUpAsync();
            masterKey = "sk-otel-" + Guid.NewGuid().ToString("N");
            await owner.SetKeyAsync(masterKey);
            (token, _) = await owner.TokenAsync("Telemetry app " + Guid.NewGuid().ToString("N")[..8]);

            using (var call = Chat(token, prompt, "/v1/openai/chat/completions"))
            using (var response = await vault.Client().SendAsync(call))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            // The token in a query string too (as Gemini clients send it): no span of either process may carry it.
            using (var call = Chat(token, prompt, "/v1/openai/chat/completions?key=" + token))
            using (var response = await vault.Client().SendAsync(call)) { }

            // The worker: its okap.proxy span with the attributes Okap.Telemetry defines, under the configured service name.
            await collector.WaitForAsync(c => c.Spans().Any(IsProxySpan), ExportWait, () => Describe(collector));
            var proxy = collector.Spans().First(IsProxySpan);
            Assert.Equal("okap-vault", proxy.Resource["service.name"]);
            Assert.Equal("ChatCompletions", proxy.Attributes["okap.route_kind"]);
            Assert.Equal("gpt-4o-mini", proxy.Attributes["gen_ai.request.model"]);
            Assert.Equal(100L, proxy.Attributes["gen_ai.usage.input_tokens"]);
            Assert.Equal(50L, proxy.Attributes["gen_ai.usage.output_tokens"]);
            Assert.True(proxy.Attributes.ContainsKey("okap.upstream.duration_ms"), string.Join(", ", proxy.Attributes.Keys));

            // ... and the proxied-call counter, by provider and status.
            await collector.WaitForAsync(c => c.Points().Any(IsProxyCallPoint), ExportWait, () => Describe(collector));
            Assert.Equal("okap-vault", collector.Points().First(IsProxyCallPoint).Resource["service.name"]);

        }
        finally
        {
            // Stopping flushes what both processes still held: everything they exported is checked below.
            await host.DisposeAsync();
        }

        var received = collector.Received;
        Assert.Contains(received, r => r.Path == "/v1/traces");
        Assert.Contains(received, r => r.Path == "/v1/metrics");
        Assert.Contains(received, r => r.Path == "/v1/logs");
        // OTLP protobuf keeps strings as UTF-8 bytes: a secret anywhere in any body (span, metric, log, resource) is found,
        // as the names the worker did export are.
        Assert.Contains(received, r => r.Path == "/v1/traces" && Encoding.Latin1.GetString(r.Body).Contains("okap.provider", StringComparison.Ordinal));
        Assert.Contains(received, r => r.Path == "/v1/metrics" && Encoding.Latin1.GetString(r.Body).Contains("okap.proxy.calls", StringComparison.Ordinal));
        var secrets = new[] { token, token[..20], Okap.Core.Secrets.Hash(token), masterKey, prompt, VaultUnderTest.Password };
        foreach (var (path, body) in received)
        {
            var text = Encoding.Latin1.GetString(body);
            foreach (var secret in secrets) Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{path} carried a secret ({secret[..Math.Min(8, secret.Length)]}…)");
        }
    }

    private static HttpRequestMessage Chat(string token, string prompt, string path)
    {
        var call = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = prompt } } }),
        };
        call.Headers.Authorization = new("Bearer", token);
        call.Headers.Add("x-fake-usage", "100,50");
        return call;
    }

    private static bool IsProxySpan(OtlpSpan span) =>
        span is { Scope: "Okap.Proxy", Name: "okap.proxy" }
        && span.Attributes.GetValueOrDefault("okap.provider") as string == "openai"
        && Equals(span.Attributes.GetValueOrDefault("http.response.status_code"), 200L);

    private static bool IsProxyCallPoint(OtlpPoint point) =>
        point is { Scope: "Okap.Proxy", Metric: "okap.proxy.calls" }
        && point.Attributes.GetValueOrDefault("okap.provider") as string == "openai"
        && Equals(point.Attributes.GetValueOrDefault("http.response.status_code"), 200L);

    /// <summary>The Functions runtime's resource (its detector's <c>faas.version</c> and Application Insights SDK prefix).</summary>
    private static bool IsHost(IReadOnlyDictionary<string, object?> resource) =>
        resource.ContainsKey("faas.version") && resource.GetValueOrDefault("ai.sdk.prefix") is string prefix && prefix.StartsWith("azurefunctions:", StringComparison.Ordinal);

    private static string Describe(OtlpReceiver collector)
    {
        var text = new StringBuilder();
        foreach (var group in collector.Received.GroupBy(r => r.Path)) text.Append(group.Key).Append(" x").Append(group.Count()).Append("; ");
        foreach (var span in collector.Spans().DistinctBy(s => (s.Resource.GetValueOrDefault("service.name"), s.Scope, s.Name)))
            text.Append('\n').Append(span.Resource.GetValueOrDefault("service.name")).Append(" span ").Append(span.Scope).Append(' ').Append(span.Name)
                .Append(" {").Append(string.Join(", ", span.Attributes.Select(a => a.Key + "=" + a.Value))).Append('}');
        foreach (var point in collector.Points().Where(p => p.Scope == "Okap.Proxy").DistinctBy(p => p.Metric))
            text.Append('\n').Append(point.Resource.GetValueOrDefault("service.name")).Append(" metric ").Append(point.Metric);
        return text.ToString();
    }
}
