using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Okap.Core;
using Okap.Core.Audit;
using Okap.Core.Keys;
using Okap.Core.Metering;
using Okap.Core.Pricing;
using Okap.Core.Tokens;
using Okap.Proxy;
using Okap.Proxy.Pipeline;
using Yarp.ReverseProxy.Forwarder;

namespace Microsoft.Extensions.DependencyInjection
{
    /// <summary>Registers the OKAP proxy.</summary>
    public static class OkapProxyServiceCollectionExtensions
    {
        /// <summary>
        /// Adds the proxy: options from <c>Okap:Proxy</c> (validated at start), YARP's forwarder over one shared handler,
        /// token/key caches, the in-memory budget ledger, <see cref="BudgetService"/>, <see cref="ProxyHandler"/> and the
        /// usage flush service. The host registers the stores (<see cref="ITokenStore"/>, <see cref="IKeyMetadataStore"/>,
        /// <see cref="ISecretStore"/>, <see cref="IUsageStore"/>, optionally <see cref="IAuditStore"/> and
        /// <see cref="IPriceOverrideStore"/>) as thread-safe singletons.
        /// </summary>
        public static IServiceCollection AddOkapProxy(this IServiceCollection services, IConfiguration configuration)
        {
            ArgumentNullException.ThrowIfNull(configuration);
            services.AddOptions<OkapProxyOptions>().Bind(configuration.GetSection(OkapProxyOptions.SectionName)).ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OkapProxyOptions>, OkapProxyOptionsValidator>());
            services.TryAddSingleton(TimeProvider.System);
            services.TryAddSingleton<VaultOrigins>();
            services.AddOkapManagedIdentityGrants(configuration);
            services.TryAddSingleton<IPriceOverrideStore, NoPriceOverrides>();
            services.TryAddSingleton(PriceCatalog.Default);
            services.TryAddSingleton<IUpstreamTokenSource, ManagedIdentityTokenSource>();
            services.AddHttpForwarder();
            services.AddLogging();
            services.TryAddSingleton<UpstreamClient>();
            services.TryAddSingleton<OutageGrace>();
            services.TryAddSingleton<TokenCache>();
            services.TryAddSingleton<UpstreamResolver>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<Okap.Core.Keys.IMasterKeyCheck, MasterKeyProbe>());
            services.AddSingleton<Okap.Core.Accounts.IOwnerSettingsListener>(sp => sp.GetRequiredService<UpstreamResolver>());
            services.TryAddSingleton<ProxyAuditQueue>();
            services.AddOptions<BudgetLeaseOptions>().Configure<IOptions<OkapProxyOptions>>((lease, proxy) => lease.Duration = proxy.Value.LeaseDuration);
            services.AddOkapMetering();
            services.AddOkapProxyPipeline();
            services.TryAddSingleton(sp => new ProxyHandler(sp.GetRequiredService<ProxyPipeline>(), sp.GetRequiredService<ILogger<ProxyHandler>>()));
            services.TryAddSingleton(sp => new UsageFlushService(sp.GetRequiredService<BudgetLedger>(), sp.GetRequiredService<IUsageStore>(),
                sp.GetRequiredService<ITokenStore>(), sp, sp.GetRequiredService<ProxyAuditQueue>(), sp.GetRequiredService<TokenCache>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<OkapProxyOptions>>(), sp.GetRequiredService<ILogger<UsageFlushService>>()));
            services.AddHostedService(sp => sp.GetRequiredService<UsageFlushService>());
            services.TryAddSingleton(sp => new WriterMarkSweepService(sp.GetRequiredService<IUsageStore>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<IOptions<OkapProxyOptions>>(), sp.GetRequiredService<ILogger<WriterMarkSweepService>>()));
            services.AddHostedService(sp => sp.GetRequiredService<WriterMarkSweepService>());
            return services;
        }
    }
}

namespace Okap.Proxy.Pipeline
{
    internal static class ProxyPipelineServiceCollectionExtensions
    {
        /// <summary>The steps as singletons, and the pipeline that runs them in this order.</summary>
        public static IServiceCollection AddOkapProxyPipeline(this IServiceCollection services)
        {
            services.TryAddSingleton<RefusalWriter>();
            services.TryAddSingleton<AdmitStep>();
            services.TryAddSingleton<AuthenticateStep>();
            services.TryAddSingleton<ClassifyRouteStep>();
            services.TryAddSingleton<InspectBodyStep>();
            services.TryAddSingleton<CheckModelStep>();
            services.TryAddSingleton<PriceStep>();
            services.TryAddSingleton<ResolveUpstreamStep>();
            services.TryAddSingleton<ReserveBudgetStep>();
            services.TryAddSingleton<UpstreamCredentialStep>();
            services.TryAddSingleton<MeterStep>();
            services.TryAddSingleton<ForwardStep>();
            services.TryAddSingleton<SettleStep>();
            services.TryAddSingleton(sp => new ProxyPipeline(
            [
                sp.GetRequiredService<AdmitStep>(),
                sp.GetRequiredService<AuthenticateStep>(),
                sp.GetRequiredService<ClassifyRouteStep>(),
                sp.GetRequiredService<InspectBodyStep>(),
                sp.GetRequiredService<CheckModelStep>(),
                sp.GetRequiredService<PriceStep>(),
                sp.GetRequiredService<ResolveUpstreamStep>(),
                sp.GetRequiredService<ReserveBudgetStep>(),
                sp.GetRequiredService<UpstreamCredentialStep>(),
                sp.GetRequiredService<MeterStep>(),
                sp.GetRequiredService<ForwardStep>(),
                sp.GetRequiredService<SettleStep>(),
            ], sp.GetRequiredService<SettleStep>()));
            return services;
        }
    }
}

namespace Microsoft.AspNetCore.Builder
{
    /// <summary>Maps the OKAP proxy endpoint.</summary>
    public static class OkapProxyEndpointRouteBuilderExtensions
    {
        /// <summary>The proxy route: every method on <c>/v1/{provider}/{**path}</c>.</summary>
        public const string RoutePattern = "/v1/{provider}/{**path}";

        /// <summary>Maps <see cref="RoutePattern"/> (all methods) to <see cref="ProxyHandler.HandleAsync"/>.</summary>
        public static IEndpointConventionBuilder MapOkapProxy(this IEndpointRouteBuilder endpoints)
        {
            var handler = endpoints.ServiceProvider.GetRequiredService<ProxyHandler>();
            return endpoints.Map(RoutePattern, context =>
            {
                var values = context.Request.RouteValues;
                return handler.HandleAsync(context, (string)values["provider"]!, values["path"] as string);
            }).WithDisplayName("OKAP proxy");
        }
    }
}
