using Microsoft.AspNetCore.Http;
using Okap.Proxy.Pipeline;

namespace Okap.Proxy.Tests.Unit;

public sealed class HandlerHelpersTests
{
    [Theory]
    [InlineData("chat/completions", true)]
    [InlineData("v1beta/models/gemini-2.0-flash:generateContent", true)]
    [InlineData("", true)]
    [InlineData("../admin", false)]
    [InlineData("a/./b", false)]
    [InlineData("a/..", false)]
    [InlineData("a//b", false)]
    [InlineData("/chat/completions", false)]
    [InlineData("a%2fb", false)]
    [InlineData("a\\b", false)]
    [InlineData("a\nb", false)]
    public void Safe_paths(string path, bool safe) => Assert.Equal(safe, AdmitStep.IsSafePath(path));

    [Fact]
    public void Token_from_query()
    {
        var ctx = new DefaultHttpContext();
        ctx.Request.QueryString = new QueryString("?alt=sse&key=okap_q");
        Assert.Equal("okap_q", AuthenticateStep.ExtractToken(ctx.Request));
    }

    [Fact]
    public void Options_validation()
    {
        var v = new OkapProxyOptionsValidator();
        Assert.True(v.Validate(null, new OkapProxyOptions()).Succeeded);
        var bad = new OkapProxyOptions { TokenCacheTtl = TimeSpan.FromSeconds(2), MaxBufferedBodyBytes = 10 };
        bad.Providers["openai"] = new ProviderUpstreamOptions { BaseUrl = "ftp://x" };
        bad.Providers["Bad Id"] = new ProviderUpstreamOptions();
        var result = v.Validate(null, bad);
        Assert.True(result.Failed);
        Assert.Equal(4, result.Failures!.Count());
    }
}
