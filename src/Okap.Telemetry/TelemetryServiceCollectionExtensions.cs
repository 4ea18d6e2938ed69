using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Okap.Core.Diagnostics;
using Okap.Proxy;
using Okap.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers OpenTelemetry for the vault.</summary>
public static class OkapTelemetryServiceCollectionExtensions
{
    // Probes come every few seconds from every edge: tracing them would cost more than everything else together.
    private const string StatsbeatVariable = "APPLICATIONINSIGHTS_STATSBEAT_DISABLED";

    private static readonly PathString[] s_untracedPaths = [new("/okap/health"), new("/okap/ready")];

    /// <summary>
    /// Traces (the proxy's <c>okap.proxy</c> spans, ASP.NET Core server spans for OKAP, account and admin calls,
    /// outgoing HTTP) and metrics (the proxy's and the core's meters, ASP.NET Core, HttpClient, runtime) exported to OTLP
    /// and/or Azure Monitor, per <see cref="OkapTelemetryOptions"/> (<c>Okap:Telemetry</c>). With no exporter configured
    /// nothing is registered at all, so no span or measurement is ever made. Query strings, headers, URL user info and
    /// storage entity keys are removed from every span before any exporter sees it. <paramref name="configure"/> runs only when telemetry
    /// is on (the Functions host adds its worker's defaults there).
    /// </summary>
    public static IServiceCollection AddOkapTelemetry(this IServiceCollection services, IConfiguration configuration, Action<IOpenTelemetryBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(OkapTelemetryOptions.SectionName);
        services.AddOptions<OkapTelemetryOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        var options = section.Get<OkapTelemetryOptions>() ?? new OkapTelemetryOptions();

        var otlpFromEnvironment = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var azureMonitor = options.AzureMonitorConnectionString is { Length: > 0 } cs ? cs : configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        var useAzureMonitor = !string.IsNullOrWhiteSpace(azureMonitor);
        if (!options.Enabled && options.OtlpEndpoint is null && !otlpFromEnvironment && !useAzureMonitor) return services;

        var ratio = Math.Clamp(options.TraceSampleRatio, 0.0, 1.0);
        var sampler = new TraceIdRatioBasedSampler(ratio);
        var otel = services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                // A client's traceparent joins its trace, but its sampled flag does not decide what the vault records.
                .SetSampler(new ParentBasedSampler(sampler, remoteParentSampled: sampler, remoteParentNotSampled: sampler))
                .AddSource(ProxyDiagnostics.ActivitySourceName)
                .AddAspNetCoreInstrumentation(o =>
                {
                    o.RecordException = false;
                    o.Filter = context => !IsProbe(context.Request.Path);
                    o.EnrichWithHttpRequest = (activity, _) => activity.SetTag("url.query", null);
                })
                .AddHttpClientInstrumentation(o =>
                {
                    o.RecordException = false;
                    o.EnrichWithHttpRequestMessage = (activity, request) =>
                    {
                        if (request.RequestUri is { } uri) activity.SetTag("url.full", SecretScrubber.SafeUrl(uri.GetLeftPart(UriPartial.Path)));
                    };
                })
                // Before every exporter (they are added after this): processors run in the order they were added.
                .AddProcessor(new SecretScrubber()))
            .WithMetrics(metrics => metrics
                .AddMeter(ProxyDiagnostics.MeterName, OkapCoreMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation());

        if (options.OtlpEndpoint is { } endpoint)
        {
            otel.UseOtlpExporter(options.OtlpProtocol == "http/protobuf" ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc, endpoint);
        }
        else if (otlpFromEnvironment)
        {
            otel.UseOtlpExporter();
        }
        if (useAzureMonitor)
        {
            // Statsbeat (the exporter's reports about itself to Microsoft, after a call to the instance metadata endpoint)
            // has no option, only this variable: off unless the operator set it.
            if (Environment.GetEnvironmentVariable(StatsbeatVariable) is null) Environment.SetEnvironmentVariable(StatsbeatVariable, "true");
            var credential = AzureMonitorCredential(options, configuration);
            otel.UseAzureMonitorExporter(o =>
            {
                o.ConnectionString = azureMonitor;
                if (credential is not null) o.Credential = credential;
                o.SamplingRatio = (float)ratio;
                // Live metrics would stream request URLs (with any query string) past the scrubber.
                o.EnableLiveMetrics = false;
            });
        }
        configure?.Invoke(otel);
        // After the host's additions: the Functions worker's resource detector sets service.name to the assembly name
        // (Okap.Functions), and the resource's last writer wins.
        otel.ConfigureResource(resource => resource.AddService(options.ServiceName));
        return services;
    }

    private static bool IsProbe(PathString path)
    {
        foreach (var probe in s_untracedPaths) if (path.Equals(probe, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>The managed identity that sends to Azure Monitor (Entra authentication), or null for the connection string's key.</summary>
    internal static TokenCredential? AzureMonitorCredential(OkapTelemetryOptions options, IConfiguration configuration)
    {
        var clientId = options.AzureMonitorManagedIdentityClientId;
        if (string.IsNullOrWhiteSpace(clientId) && configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] is { Length: > 0 } auth)
        {
            string? id = null;
            var aad = false;
            foreach (var part in auth.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = part.IndexOf('=');
                if (eq <= 0) continue;
                var (key, value) = (part[..eq].Trim(), part[(eq + 1)..].Trim());
                if (key.Equals("ClientId", StringComparison.OrdinalIgnoreCase)) id = value;
                if (key.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && value.Equals("AAD", StringComparison.OrdinalIgnoreCase)) aad = true;
            }
            if (!aad) return null;
            clientId = id ?? configuration["AZURE_CLIENT_ID"];
            if (string.IsNullOrWhiteSpace(clientId)) return new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
        }
        return string.IsNullOrWhiteSpace(clientId) ? null : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
    }
}
