using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Okap.AspNetCore;
using Okap.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

builder.Services.AddOkap(builder.Configuration);
builder.Services.AddOkapStores(builder.Configuration, builder.Environment);
builder.Services.AddOkapProxy(builder.Configuration);
builder.Services.AddOkapOpenApiDescription();
// The worker's defaults add the function invocation spans and join the host's trace.
builder.Services.AddOkapTelemetry(builder.Configuration, otel => otel.UseFunctionsWorkerDefaults());

var app = builder.Build();

await app.InitializeOkapAsync();
await app.RunAsync();
