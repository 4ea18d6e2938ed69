using System.ComponentModel.DataAnnotations;

namespace Okap.Telemetry;

/// <summary>
/// <c>Okap:Telemetry</c>. Nothing is collected or exported unless an exporter is configured: an OTLP endpoint (this
/// option or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>), Azure Monitor (<c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>),
/// or <see cref="Enabled"/> for a host that adds its own exporter.
/// </summary>
public sealed class OkapTelemetryOptions
{
    public const string SectionName = "Okap:Telemetry";

    /// <summary>Collect traces and metrics even with no exporter configured here (the host or a test adds one).</summary>
    public bool Enabled { get; set; }

    /// <summary>OTLP collector base address; when empty, <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is used if set.</summary>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary><c>grpc</c> (default, port 4317) or <c>http/protobuf</c> (port 4318), for <see cref="OtlpEndpoint"/>.</summary>
    [RegularExpression("^(grpc|http/protobuf)$", ErrorMessage = "Okap:Telemetry:OtlpProtocol must be grpc or http/protobuf.")]
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>Application Insights connection string; defaults to <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>.</summary>
    public string? AzureMonitorConnectionString { get; set; }

    /// <summary>
    /// Client id of the user-assigned managed identity that sends to Azure Monitor (Entra authentication; the component's
    /// local authentication may then be off). When empty and <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> says
    /// <c>Authorization=AAD</c>, its <c>ClientId</c> is used (else <c>AZURE_CLIENT_ID</c>, else the system-assigned
    /// identity). With neither, the connection string's instrumentation key alone is used.
    /// </summary>
    public string? AzureMonitorManagedIdentityClientId { get; set; }

    /// <summary>Share of traces kept (0–1). Parents sent by clients do not decide it: a client cannot make the vault trace more.</summary>
    [Range(0.0, 1.0, ErrorMessage = "Okap:Telemetry:TraceSampleRatio must be between 0 and 1.")]
    public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>Service name on every span and metric.</summary>
    [Required]
    public string ServiceName { get; set; } = "okap-vault";
}
