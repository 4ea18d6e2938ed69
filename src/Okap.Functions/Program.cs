using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Hosting;
using Okap.Functions;
using Okap.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

// The worker's telemetry defaults add the function invocation spans and join the host's trace.
builder.Services.AddOkapVault(builder.Configuration, builder.Environment, OkapHostProfile.Functions, otel => otel.UseFunctionsWorkerDefaults());
builder.Services.AddOkapOpenApiDescription();

var app = builder.Build();

foreach (var line in await app.Services.InitializeOkapAsync(OkapHostProfile.Functions)) Console.WriteLine(line);
await app.RunAsync();
