using Okap.Storage.Azure.Tables;

namespace Okap.Storage.Azure.Tests;

public sealed class TableKeysTests
{
    [Theory]
    [InlineData("plain_id-123")]
    [InlineData("with/slash")]
    [InlineData("with\\backslash#hash?query%pct~tilde|pipe")]
    [InlineData("control\u0001\u007f\u0085chars")]
    [InlineData("ünïcødé")]
    public void Escaped_keys_hold_no_forbidden_characters(string value)
    {
        var key = TableKeys.Escape(value);
        Assert.DoesNotContain(key, c => c is '/' or '\\' or '#' or '?' or '|' || char.IsControl(c));
    }

    [Fact]
    public void Escaping_is_injective()
    {
        var inputs = new[] { "a|b", "a~7Cb", "a~b", "a~7Eb", "a/b", "a~2Fb", "ab", "a%b", "a~25b" };
        var keys = inputs.Select(TableKeys.Escape).ToList();
        Assert.Equal(inputs.Length, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Inverted_time_sorts_newest_first()
    {
        var older = TableKeys.Inverted(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var newer = TableKeys.Inverted(new DateTimeOffset(2026, 1, 1, 0, 0, 0, 1, TimeSpan.Zero));
        Assert.Equal(19, older.Length);
        Assert.True(string.CompareOrdinal(newer, older) < 0);
        Assert.Equal(TableKeys.Inverted(new DateTimeOffset(2026, 1, 1, 2, 0, 0, TimeSpan.FromHours(2))), older); // offsets do not matter
    }

    [Fact]
    public void Continuation_tokens_are_opaque_and_validated()
    {
        var token = ContinuationTokens.Encode("t|0123|req_1");
        Assert.DoesNotContain("req_1", token, StringComparison.Ordinal);
        Assert.Equal("t|0123|req_1", ContinuationTokens.Decode(token));
        Assert.Null(ContinuationTokens.Decode(null));
        Assert.Throws<Okap.Core.InvalidContinuationException>(() => ContinuationTokens.Decode("%%%"));
        Assert.Throws<Okap.Core.InvalidContinuationException>(() => ContinuationTokens.Decode("eyJWIjo5LCJLIjoieCJ9")); // {"V":9,"K":"x"}
    }

    [Fact]
    public void Usage_row_keys_put_period_first_and_shard_last()
    {
        Assert.Equal("d:2026-03-01|tok_1:openai|03", UsageTableStore.RowKey("d:2026-03-01", "tok_1:openai", 3));
    }
}
