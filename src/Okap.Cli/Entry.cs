using System.Text;

namespace Okap.Cli;

/// <summary>The process entry point: everything else lives in <see cref="CliApp"/> so tests can run it in memory.</summary>
internal static class Entry
{
    private static Task<int> Main(string[] args) =>
        CliApp.RunAsync(args, Console.Out, Console.Error, Console.IsInputRedirected ? Console.In : new HiddenConsoleReader());

    /// <summary>Reads one line from a terminal without echoing it (for <c>okap keys set</c> typed or pasted by hand).</summary>
    private sealed class HiddenConsoleReader : TextReader
    {
        public override string? ReadLine()
        {
            Console.Error.Write("Paste the provider key and press Enter (input hidden): ");
            var text = new StringBuilder();
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                if (key.Key == ConsoleKey.Enter) break;
                if (key.Key == ConsoleKey.Backspace)
                {
                    if (text.Length > 0) text.Length--;
                    continue;
                }
                if (!char.IsControl(key.KeyChar)) text.Append(key.KeyChar);
            }
            Console.Error.WriteLine();
            return text.ToString();
        }

        public override string ReadToEnd() => ReadLine() ?? "";

        public override Task<string> ReadToEndAsync() => Task.FromResult(ReadToEnd());

        public override Task<string> ReadToEndAsync(CancellationToken cancellationToken) => Task.FromResult(ReadToEnd());
    }
}
