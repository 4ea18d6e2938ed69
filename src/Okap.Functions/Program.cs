using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Okap.AspNetCore;
using Okap.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();

builder.Services.AddOkap(builder.Configuration);
builder.Services.AddOkapStores(builder.Configuration, builder.Environment);
builder.Services.AddOkapProxy(builder.Configuration);
builder.Services.AddOkapOpenApiDescription();

var app = builder.Build();

await app.InitializeOkapAsync();
await app.RunAsync();
