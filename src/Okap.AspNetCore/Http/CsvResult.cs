using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Okap.AspNetCore.Http;

/// <summary>
/// Rows written straight to the response as RFC 4180 CSV (UTF-8, CRLF), downloaded as a file. Cells are text a
/// spreadsheet must never run: app names and details are chosen by apps, so a cell that would start a formula is
/// prefixed with an apostrophe (OWASP's CSV-injection rule).
/// </summary>
internal sealed class CsvResult(string fileName, IReadOnlyList<string> header, Func<CsvResult.Writer, CancellationToken, Task> rows) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/csv; charset=utf-8";
        response.Headers[HeaderNames.ContentDisposition] = new ContentDispositionHeaderValue("attachment") { FileNameStar = fileName }.ToString();
        response.Headers[HeaderNames.CacheControl] = "no-store";
        await using var text = new StreamWriter(response.Body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 16 * 1024);
        var writer = new Writer(text);
        writer.Row(header);
        await rows(writer, context.RequestAborted);
        await text.FlushAsync(context.RequestAborted);
    }

    /// <summary>Writes one row at a time; flushes as its buffer fills, so an export of any size is never held whole.</summary>
    public sealed class Writer(TextWriter text)
    {
        public void Row(IReadOnlyList<string?> cells)
        {
            for (var i = 0; i < cells.Count; i++)
            {
                if (i > 0) text.Write(',');
                Cell(cells[i]);
            }
            text.Write("\r\n");
        }

        public static string Number(decimal value) => value.ToString(CultureInfo.InvariantCulture);

        public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

        public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

        private void Cell(string? value)
        {
            if (string.IsNullOrEmpty(value)) return;
            var guard = value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' or '|' or '%';
            if (!guard && value.AsSpan().IndexOfAny(",\"\r\n") < 0)
            {
                text.Write(value);
                return;
            }
            text.Write('"');
            if (guard) text.Write('\'');
            foreach (var c in value)
            {
                if (c == '"') text.Write('"');
                text.Write(c);
            }
            text.Write('"');
        }
    }
}
