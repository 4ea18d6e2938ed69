using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Okap.Testing;

/// <summary>
/// Runs <c>tests/sdk-clients/call.mjs</c>: one call with the official npm <c>openai</c> or <c>@anthropic-ai/sdk</c> client
/// (versions locked in <c>tests/sdk-clients/package-lock.json</c>) in its default configuration, and returns what the
/// script printed: <c>ok</c>, <c>text</c>/<c>chunks</c>, or <c>error</c>, <c>classes</c>, <c>status</c>,
/// <c>message</c>, <c>code</c>, <c>type</c>; and <c>elapsedMs</c>.
/// </summary>
public static class NpmSdkClient
{
    /// <param name="beforeCall">Run once node has started and built the client, just before it calls (node's start-up time varies).</param>
    public static async Task<JsonObject> CallAsync(string sdk, string baseUrl, string apiKey, string model, bool stream = false, Func<Task>? beforeCall = null)
    {
        var folder = NodePackages.Folder("sdk-clients");
        await NodePackages.EnsureInstalledAsync(folder, Path.Combine("node_modules", "openai", "package.json")).ConfigureAwait(false);
        var start = new ProcessStartInfo("node") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = beforeCall is not null };
        foreach (var arg in new[] { "call.mjs", sdk, baseUrl, apiKey, model }) start.ArgumentList.Add(arg);
        if (stream) start.ArgumentList.Add("stream");
        if (beforeCall is not null) start.Environment["OKAP_CALL_ON_GO"] = "1";
        using var node = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        var stdout = node.StandardOutput.ReadToEndAsync();
        if (beforeCall is not null)
        {
            var ready = await node.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            if (ready != "ready") throw new InvalidOperationException($"node call.mjs {sdk} did not start: {ready}");
            await beforeCall().ConfigureAwait(false);
            await node.StandardInput.WriteLineAsync().ConfigureAwait(false);
            await node.StandardInput.FlushAsync().ConfigureAwait(false);
        }
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await node.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw new TimeoutException($"node call.mjs {sdk} did not finish within 60 s.");
        }
        var output = await stdout.ConfigureAwait(false);
        if (node.ExitCode != 0 || string.IsNullOrWhiteSpace(output))
            throw new InvalidOperationException($"node call.mjs {sdk} failed ({node.ExitCode}): {output}{await stderr.ConfigureAwait(false)}");
        return JsonNode.Parse(output)!.AsObject();
    }
}
