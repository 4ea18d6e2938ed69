using Okap.AspNetCore;
using Okap.Hosting;
using Okap.Server;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddOkapVault(builder.Configuration, builder.Environment, OkapHostProfile.Server);
builder.Services.AddOkapForwardedHeaders(builder.Configuration);

var app = builder.Build();

app.UseOkapForwardedHeaders();
app.MapOkap();
app.MapOkapProxy();

await app.InitializeOkapAsync();
await app.RunAsync();

/// <summary>Entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
