using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Okap.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Okap.Telemetry.Tests;

/// <summary>What <c>AddOkapTelemetry</c> registers for a given configuration, and how URLs are made safe.</summary>
public sealed class TelemetryRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddOkapTelemetry(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Nothing_is_collected_or_exported_when_no_exporter_is_configured()
    {
        using var provider = Build([]);
        Assert.Null(provider.GetService<TracerProvider>());
        Assert.Null(provider.GetService<MeterProvider>());
    }

    [Theory]
    [InlineData("Okap:Telemetry:OtlpEndpoint", "http://127.0.0.1:4317")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]
    [InlineData("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/")]
    [InlineData("Okap:Telemetry:Enabled", "true")]
    public void An_exporter_setting_turns_traces_and_metrics_on(string key, string value)
    {
        using var provider = Build(new() { [key] = value });
        Assert.NotNull(provider.GetService<TracerProvider>());
        Assert.NotNull(provider.GetService<MeterProvider>());
    }

    [Theory]
    [InlineData("Okap:Telemetry:TraceSampleRatio", "1.5")]
    [InlineData("Okap:Telemetry:OtlpProtocol", "udp")]
    public void Bad_options_are_refused_at_start(string key, string value)
    {
        using var provider = Build(new() { [key] = value });
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<OkapTelemetryOptions>>().Value);
        Assert.Contains(key.Split(':').Last(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Azure_monitor_sends_with_the_managed_identity_named_by_the_authentication_string()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] = "ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD",
        }).Build();
        Assert.IsType<ManagedIdentityCredential>(OkapTelemetryServiceCollectionExtensions.AzureMonitorCredential(new OkapTelemetryOptions(), configuration));

        var keyOnly = new ConfigurationBuilder().Build();
        Assert.Null(OkapTelemetryServiceCollectionExtensions.AzureMonitorCredential(new OkapTelemetryOptions(), keyOnly));
        Assert.IsType<ManagedIdentityCredential>(OkapTelemetryServiceCollectionExtensions.AzureMonitorCredential(
            new OkapTelemetryOptions { AzureMonitorManagedIdentityClientId = "11111111-2222-3333-4444-555555555555" }, keyOnly));
    }

    [Theory]
    [InlineData("https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=okap_secret", "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent")]
    [InlineData("https://user:pass@host.example/path#frag", "https://host.example/path")]
    [InlineData("http://127.0.0.1:10002/devstoreaccount1/tTokens(PartitionKey='h',RowKey='abc')", "http://127.0.0.1:10002/devstoreaccount1/tTokens")]
    [InlineData("https://api.openai.com/v1/chat/completions", "https://api.openai.com/v1/chat/completions")]
    public void Urls_lose_query_user_info_and_entity_keys(string url, string expected)
    {
        Assert.Equal(expected, SecretScrubber.SafeUrl(url));
    }
}
