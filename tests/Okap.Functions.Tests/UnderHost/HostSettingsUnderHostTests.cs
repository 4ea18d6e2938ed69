using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Okap.Testing.Behaviour;
using Okap.Testing.Vaults;

namespace Okap.Functions.Tests.UnderHost;

/// <summary>
/// What only the Functions host can show: the sample settings' start-up output through the host's console, and that
/// the host honours host.json (logging levels, timeouts for streams). The shared behaviour suite runs beside these in
/// the same pass.
/// </summary>
[Collection(FunctionsPassCollection.Name)]
public sealed class HostSettingsUnderHostTests(FunctionsPass pass)
{
    [HostFact]
    public async Task Sample_settings_print_the_setup_link_and_the_secret_store_notice_through_the_host_console()
    {
        await pass.SingleOwnerAsync();
        var output = pass.SingleHost.Host.Output;

        // The worker's console reaches the host as Host.Function.Console; host.json must keep it at Information.
        // The host's console logger writes the category on the line before the message.
        var lines = output.Split('\n');
        var at = Array.FindIndex(lines, l => l.Contains("/#/setup?token=", StringComparison.Ordinal));
        Assert.True(at > 0, output);
        var link = lines[at];
        Assert.Contains("Host.Function.Console", lines[at - 1]);
        Assert.Contains($"open {pass.Single.Url}/#/setup?token={pass.SingleSetupToken} to create the first one", link);
        Assert.Contains("provider keys are encrypted with ASP.NET Core Data Protection in Table Storage", output);
        Assert.Contains("for local runs on Azurite only; on Azure use Key Vault", output);
        // Behind App Service Authentication owners sign in through the platform: no link is printed.
        Assert.DoesNotContain("/#/setup?token=", pass.SharedHost.Host.Output);
    }

    [HostFact]
    public async Task Request_urls_and_bodies_are_not_in_the_hosts_log_at_the_configured_levels()
    {
        var owner = await pass.Shared.SignUpAsync();
        var marker = "marker" + Guid.NewGuid().ToString("N");
        (await pass.Shared.Client().GetAsync($"/v1/openai/models/{marker}?key=okap_{marker}")).Dispose();
        (await owner.App().PostAsJsonAsync("/okap/request", Bodies.Sdk(app: marker, provider: "groq"))).Dispose();
        (await owner.Admin.PostAsJsonAsync("/okap/admin/policies", new { name = marker, app_name = marker, providers = new[] { "openai" } })).EnsureSuccessStatusCode();
        await Task.Delay(1000); // the host writes its log lines asynchronously

        var log = pass.Shared.LogText;
        // The host did log these calls (function name, id, duration), just not what they carried.
        Assert.Contains("Executed 'Functions.Proxy'", log);
        Assert.Contains("Executed 'Functions.CreatePolicy'", log);
        Assert.DoesNotContain(marker, log);
        // What the worker logs inside an invocation reaches the host as Function.{name}.User: the forwarder's
        // per-call "Proxying to {upstream URL}" lines stay out (Function.Proxy.User at Warning).
        Assert.DoesNotContain("Proxying to", log);
        Assert.DoesNotContain(pass.Fake.Url, log);
    }

    /// <summary>A streamed completion of three words 4 s apart (a 12 s answer with long silences) on <paramref name="vault"/>.</summary>
    private static async Task<(HttpStatusCode Status, List<(TimeSpan At, string Data)> Arrivals, Exception? Cut)> LongStreamAsync(VaultUnderTest vault)
    {
        var owner = await vault.SignUpAsync();
        await owner.SetKeyAsync("sk-long-stream-" + Guid.NewGuid().ToString("N"));
        var (token, _) = await owner.TokenAsync("Long stream " + Guid.NewGuid().ToString("N")[..8]);
        var call = ProxyBehaviour.Chat(token, stream: true);
        call.Headers.Add("x-fake-delay-ms", "4000");
        var clock = Stopwatch.StartNew();
        using var response = await vault.Client().SendAsync(call, HttpCompletionOption.ResponseHeadersRead);
        var arrivals = new List<(TimeSpan At, string Data)>();
        try
        {
            await ProxyBehaviour.ReadEventsAsync(response, clock, arrivals);
            return (response.StatusCode, arrivals, null);
        }
        catch (IOException cut) // ended early: HttpIOException, or a reset connection
        {
            return (response.StatusCode, arrivals, cut);
        }
    }

    [HostFact]
    public async Task A_stream_with_long_silences_is_forwarded_to_the_end_within_the_shipped_function_timeout()
    {
        var (status, arrivals, cut) = await LongStreamAsync(pass.Shared);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(cut);
        Assert.Equal("[DONE]", arrivals[^1].Data);
        var words = ProxyBehaviour.Words(arrivals);
        Assert.Equal(3, words.Count);
        Assert.True(words[^1].At - words[0].At >= TimeSpan.FromSeconds(7), $"events arrived at {ProxyBehaviour.Timeline(arrivals)}");
    }

    /// <summary>
    /// Why host.json's <c>functionTimeout</c> is generous: under the host it bounds a streamed answer too. The same
    /// stream on a host whose timeout is overridden to 4 s (as an app setting can) is cut, and the host restarts the
    /// worker, which ends every other call that worker was serving.
    /// </summary>
    [HostFact]
    public async Task The_function_timeout_bounds_a_stream_and_a_stream_that_outlives_it_is_cut()
    {
        var port = FunctionsHost.FreePort();
        var environment = pass.Environment("timeout", port, new Dictionary<string, string>(pass.CommonSettings()) { ["Okap:Auth:AllowRegistration"] = "true" });
        environment["AzureFunctionsJobHost__functionTimeout"] = "00:00:04";
        await using var host = await FunctionsHost.StartAsync(pass.AppFolder, environment, port, TimeSpan.FromMinutes(2));
        var vault = new HostedVault(host, pass.Azurite.ConnectionString, "timeout", baseDomain: null);

        var (status, arrivals, cut) = await LongStreamAsync(vault);

        Assert.Equal(HttpStatusCode.OK, status); // the answer had begun
        Assert.NotNull(cut);
        Assert.DoesNotContain(arrivals, a => a.Data == "[DONE]");
        Assert.True(ProxyBehaviour.Words(arrivals).Count < 3, $"events arrived at {ProxyBehaviour.Timeline(arrivals)}");
        await host.WaitForOutputAsync(o => o.Contains("Timeout value of 00:00:04 exceeded by function 'Functions.Proxy'", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Contains("Restarting worker process", host.Output);
    }
}
