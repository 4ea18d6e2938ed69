using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Pricing;
using Okap.Core.Tokens;
using Okap.Proxy.Pipeline;
using Okap.Proxy.Tests.Infrastructure;

namespace Okap.Proxy.Tests.Pipeline;

/// <summary>
/// The proxy's services as <c>AddOkapProxy</c> registers them, on in-memory stores and a fake clock, without a
/// server: a step is resolved from it and run alone on a <see cref="ProxyCall"/> over a <see cref="DefaultHttpContext"/>.
/// </summary>
internal sealed class StepHost : IDisposable
{
    public const string Owner = "own_steps";
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    public ProxyStores Stores { get; }
    public StoreHealth Health => Stores.Health;
    public InMemoryTokenStore Tokens => Stores.Tokens;
    public InMemoryKeyMetadataStore Keys => Stores.Keys;
    public InMemorySecretStore Secrets => Stores.Secrets;
    public InMemoryUsageStore Usage => Stores.Usage;
    public InMemoryPriceOverrideStore Prices => Stores.Prices;
    public ServiceProvider Services { get; }

    public StepHost(IDictionary<string, string?>? settings = null, IHttpForwarderStub? forwarder = null)
    {
        Stores = new(Time);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Okap:Proxy:Providers:openai:BaseUrl"] = "http://127.0.0.1:9/openai/v1",
            ["Okap:Proxy:StoreTimeout"] = "00:00:01",
        }.Concat(settings ?? new Dictionary<string, string?>())).Build();
        var services = new ServiceCollection();
        Stores.AddTo(services);
        services.AddSingleton<TimeProvider>(Time);
        services.AddOkapProxy(configuration);
        services.AddSingleton<IUpstreamTokenSource, FakeTokenSource>();
        if (forwarder is not null) services.AddSingleton<Yarp.ReverseProxy.Forwarder.IHttpForwarder>(forwarder);
        Services = services.BuildServiceProvider();
    }

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>A call as it reaches the pipeline: <paramref name="json"/> as the body, the token as a bearer key.</summary>
    public ProxyCall Call(string path, string? token = null, string? json = null, string provider = "openai", string method = "POST", string contentType = "application/json")
    {
        var context = new DefaultHttpContext { RequestServices = Services };
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("127.0.0.1");
        context.Request.Path = "/v1/" + provider + "/" + path;
        if (token is not null) context.Request.Headers.Authorization = "Bearer " + token;
        if (json is not null)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            context.Request.Body = new MemoryStream(bytes);
            context.Request.ContentLength = bytes.Length;
            context.Request.ContentType = contentType;
        }
        context.Response.Body = new MemoryStream();
        return new ProxyCall(context, provider, path);
    }

    /// <summary>A call that the steps before <typeparamref name="TUntil"/> have already been through (and let pass).</summary>
    public async Task<ProxyCall> ThroughAsync<TUntil>(ProxyCall call) where TUntil : IProxyStep
    {
        foreach (var step in Get<ProxyPipeline>().Steps)
        {
            if (step is TUntil) return call;
            if (!await step.RunAsync(call)) Assert.Fail($"{step.GetType().Name} refused: {ErrorOf(call)}");
        }
        throw new InvalidOperationException(typeof(TUntil).Name + " is not in the pipeline");
    }

    public async Task<string> IssueAsync(params Grant[] grants) => (await Stores.IssueAsync(Owner, "Step test", grants)).Token;

    public Task SetKeyAsync(string provider = "openai", string? secret = "sk-master-steps", string authKind = MasterKeyAuthKinds.Key, string? baseUrl = null) =>
        Stores.SetKeyAsync(Owner, provider, secret, baseUrl, authKind);

    public static Grant Grant(string[]? models = null, string[]? caps = null, Limits? limits = null, DateTimeOffset? expires = null, string provider = "openai") =>
        new(provider, models ?? [], caps ?? [], limits ?? Limits.None, expires);

    /// <summary>The status and error type the call was answered with (status 200 and null when it was not answered).</summary>
    public static (int Status, string? Type) ErrorOf(ProxyCall call)
    {
        var body = (MemoryStream)call.Http.Response.Body;
        if (body.Length == 0) return (call.Http.Response.StatusCode, null);
        using var doc = JsonDocument.Parse(body.ToArray());
        return (call.Http.Response.StatusCode, doc.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    public void Dispose() => Services.Dispose();
}

/// <summary>A forwarder standing in for YARP's in a step test.</summary>
internal interface IHttpForwarderStub : Yarp.ReverseProxy.Forwarder.IHttpForwarder;
