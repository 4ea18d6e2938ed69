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
    }

    [HostFact]
    public async Task A_stream_longer_than_the_hosts_default_request_handling_is_forwarded_to_the_end()
    {
        var owner = await pass.Shared.SignUpAsync();
        await owner.SetKeyAsync("sk-long-stream-" + Guid.NewGuid().ToString("N"));
        var (token, _) = await owner.TokenAsync("Long stream " + Guid.NewGuid().ToString("N")[..8]);
        var call = ProxyBehaviour.Chat(token, stream: true);
        call.Headers.Add("x-fake-delay-ms", "4000"); // three words 4 s apart: a 12 s answer with long silences

        var clock = Stopwatch.StartNew();
        using var response = await pass.Shared.Client().SendAsync(call, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var arrivals = await ProxyBehaviour.ReadEventsAsync(response, clock);

        Assert.Equal("[DONE]", arrivals[^1].Data);
        var words = ProxyBehaviour.Words(arrivals);
        Assert.Equal(3, words.Count);
        Assert.True(words[^1].At - words[0].At >= TimeSpan.FromSeconds(7), $"events arrived at {ProxyBehaviour.Timeline(arrivals)}");
    }
}
