using Okap.AspNetCore;
using Okap.Server;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddOkap(builder.Configuration);
builder.Services.AddOkapStores(builder.Configuration, builder.Environment);
builder.Services.AddOkapProxy(builder.Configuration);
builder.Services.AddOkapForwardedHeaders(builder.Configuration);
builder.Services.AddOkapTelemetry(builder.Configuration);

var app = builder.Build();

app.UseOkapForwardedHeaders();
app.MapOkap();
app.MapOkapProxy();

await app.InitializeOkapAsync();
await app.RunAsync();

/// <summary>Entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
