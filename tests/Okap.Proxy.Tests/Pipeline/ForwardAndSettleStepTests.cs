using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Okap.Core.Metering;
using Okap.Core.Tokens;
using Okap.Proxy.Pipeline;
using Yarp.ReverseProxy.Forwarder;

namespace Okap.Proxy.Tests.Pipeline;

public sealed class ForwardAndSettleStepTests
{
    private const string Answer = """{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}""";

    [Fact]
    public async Task Meters_the_response_forwards_with_the_master_key_and_settles_what_it_reported()
    {
        var upstream = new CannedUpstream(HttpStatusCode.OK, Answer);
        using var host = new StepHost(forwarder: upstream);
        await host.SetKeyAsync(secret: "sk-master-forward");
        var token = await host.IssueAsync(StepHost.Grant(limits: new Limits { DailySpendMicros = 5_000_000, TokensPerRequest = 50 }));
        var call = await host.ThroughAsync<MeterStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini"}"""));
        var clientBody = call.Http.Response.Body;

        Assert.True(await host.Get<MeterStep>().RunAsync(call));
        Assert.IsType<MeteringResponseStream>(call.Http.Response.Body);
        Assert.True(await host.Get<ForwardStep>().RunAsync(call));
        Assert.Same(clientBody, call.Http.Response.Body);
        Assert.Equal("Bearer sk-master-forward", upstream.Authorization);
        Assert.Contains("\"max_completion_tokens\":50", upstream.Body);
        Assert.Equal(Answer, Encoding.UTF8.GetString(((MemoryStream)clientBody).ToArray()));

        Assert.True(await host.Get<SettleStep>().RunAsync(call));
        Assert.True(call.Settled);
        var day = host.Get<BudgetLedger>().Snapshot(UsageKeys.Grant(call.Token.Id, "openai"), UsageKeys.Day(host.Time.GetUtcNow()));
        Assert.Equal((11, 7, 0L), (day?.InputTokens, day?.OutputTokens, day?.ReservedMicros));
    }

    [Fact]
    public async Task Releases_the_reservation_of_a_failed_call_and_answers_502()
    {
        var upstream = new CannedUpstream(HttpStatusCode.OK, Answer) { Error = ForwarderError.Request };
        using var host = new StepHost(forwarder: upstream);
        await host.SetKeyAsync();
        var token = await host.IssueAsync(StepHost.Grant(limits: new Limits { DailySpendMicros = 5_000_000 }));
        var call = await host.ThroughAsync<SettleStep>(host.Call("chat/completions", token, """{"model":"gpt-4o-mini"}"""));
        Assert.False(await host.Get<SettleStep>().RunAsync(call));
        Assert.Equal((502, "upstream_unavailable"), StepHost.ErrorOf(call));
        var day = host.Get<BudgetLedger>().Snapshot(UsageKeys.Grant(call.Token.Id, "openai"), UsageKeys.Day(host.Time.GetUtcNow()));
        Assert.Equal((0L, 0L), (day?.ReservedMicros ?? 0, day?.CostMicros ?? 0));
    }

    /// <summary>Answers every call itself, through the proxy's transformer, as YARP would with this response.</summary>
    private sealed class CannedUpstream(HttpStatusCode status, string json) : IHttpForwarderStub
    {
        public ForwarderError Error { get; init; } = ForwarderError.None;
        public string? Authorization { get; private set; }
        public string Body { get; private set; } = "";

        public async ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient,
            ForwarderRequestConfig requestConfig, HttpTransformer transformer, CancellationToken cancellationToken)
        {
            using var request = new HttpRequestMessage();
            await transformer.TransformRequestAsync(context, request, destinationPrefix, cancellationToken);
            Authorization = request.Headers.TryGetValues("Authorization", out var auth) ? auth.Single() : null;
            Body = await new StreamReader(context.Request.Body).ReadToEndAsync(cancellationToken);
            if (Error != ForwarderError.None) return Error;
            using var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            context.Response.StatusCode = (int)status;
            await transformer.TransformResponseAsync(context, response, cancellationToken);
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(json), cancellationToken);
            return ForwarderError.None;
        }

        public ValueTask<ForwarderError> SendAsync(HttpContext context, string destinationPrefix, HttpMessageInvoker httpClient,
            ForwarderRequestConfig requestConfig, HttpTransformer transformer) =>
            SendAsync(context, destinationPrefix, httpClient, requestConfig, transformer, CancellationToken.None);
    }
}
