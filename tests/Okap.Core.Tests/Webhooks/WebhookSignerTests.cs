using System.Security.Cryptography;
using System.Text;
using Okap.Core.Webhooks;

namespace Okap.Core.Tests.Webhooks;

public sealed class WebhookSignerTests
{
    [Fact]
    public void Signature_matches_the_example_in_the_Standard_Webhooks_specification()
    {
        // The worked example of https://www.standardwebhooks.com (secret, id, timestamp, body, signature).
        var signature = WebhookSigner.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
            Encoding.UTF8.GetBytes("""{"test": 2432232314}"""));
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }

    [Fact]
    public void New_secret_verifies_by_the_specification_and_a_changed_body_does_not()
    {
        var secret = WebhookSigner.NewSecret();
        Assert.True(WebhookSigner.IsSecret(secret));
        var id = WebhookSigner.NewMessageId();
        var body = Encoding.UTF8.GetBytes("""{"type":"request.pending","timestamp":"2026-12-03T16:00:00Z","data":{}}""");
        var header = WebhookSigner.Sign(secret, id, 1_764_777_600, body);

        Assert.True(Verifies(secret, id, 1_764_777_600, body, header));
        Assert.False(Verifies(secret, id, 1_764_777_601, body, header));
        Assert.False(Verifies(secret, id, 1_764_777_600, Encoding.UTF8.GetBytes("""{"type":"request.expired"}"""), header));
        Assert.False(Verifies(WebhookSigner.NewSecret(), id, 1_764_777_600, body, header));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    [InlineData("whsec_not base64!")]
    [InlineData("whsec_c2hvcnQ=")]
    public void Malformed_secrets_are_not_secrets(string? secret) => Assert.False(WebhookSigner.IsSecret(secret));

    [Fact]
    public void Signing_with_a_malformed_secret_fails_without_showing_it()
    {
        var error = Assert.Throws<FormatException>(() => WebhookSigner.Sign("sk-secret-value", "msg_1", 1, []));
        Assert.DoesNotContain("sk-secret-value", error.Message);
    }

    // The receiver's check, written from the specification (not by calling the signer): strip whsec_, base64-decode the
    // key, HMAC-SHA256 "{id}.{timestamp}.{body}", compare in constant time with each space-separated "v1," signature.
    private static bool Verifies(string secret, string id, long timestamp, byte[] body, string header)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var signed = Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray();
        var expected = HMACSHA256.HashData(key, signed);
        return header.Split(' ').Where(s => s.StartsWith("v1,", StringComparison.Ordinal))
            .Any(s => CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(s[3..]), expected));
    }
}
