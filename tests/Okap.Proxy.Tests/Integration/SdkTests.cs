using System.ClientModel;
using System.ClientModel.Primitives;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using Okap.Proxy.Tests.Infrastructure;
using Okap.Testing;

namespace Okap.Proxy.Tests.Integration;

/// <summary>The official OpenAI and Anthropic .NET SDKs, unchanged, against the vault.</summary>
[Collection(VaultCollection.Name)]
public sealed class SdkTests(VaultFixture f)
{
    private VaultHost Vault => f.Vault;
    private FakeProvider Fake => f.Fake;

    private ChatClient OpenAIChat(string token, string model = "gpt-4o-mini") =>
        new(model, new ApiKeyCredential(token), new OpenAIClientOptions { Endpoint = new Uri(Vault.Url + "/v1/openai"), RetryPolicy = new ClientRetryPolicy(0) });

    private AnthropicClient Anthropic(string token) => new() { ApiKey = token, BaseUrl = Vault.Url + "/v1/anthropic", MaxRetries = 0 };

    private void AssertNoTokenLeak(SeenRequest seen, string token)
    {
        foreach (var (k, v) in seen.Headers) Assert.DoesNotContain(token, v);
        Assert.DoesNotContain(token, seen.Query);
        Assert.DoesNotContain(token, seen.Body);
    }

    [Fact]
    public async Task OpenAI_sdk_chat_goes_through_with_master_key_and_usage_is_recorded()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", ["gpt-4o-mini"], ["chat"]));
        var result = await OpenAIChat(token).CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions(), default);
        Assert.Equal("Hello from fake", result.Value.Content[0].Text);

        var seen = Fake.Last(s => s.Path == "/openai/v1/chat/completions")!;
        Assert.Equal("Bearer sk-master-openai", seen.Header("authorization"));
        AssertNoTokenLeak(seen, token);

        var budget = await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id);
        var day = budget!.Grants.Single().Day;
        Assert.Equal(1, day.Requests);
        Assert.Equal(12, day.InputTokens);
        Assert.Equal(5, day.OutputTokens);
        Assert.True(day.CostMicros > 0);
    }

    [Fact]
    public async Task OpenAI_sdk_streaming_chat_is_metered()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", ["gpt-4o-mini"]));
        var text = "";
        await foreach (var update in OpenAIChat(token).CompleteChatStreamingAsync([new UserChatMessage("Hi")], new ChatCompletionOptions(), default))
            foreach (var part in update.ContentUpdate) text += part.Text;
        Assert.Equal("Hello from fake", text);
        var budget = await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id);
        Assert.Equal(5, budget!.Grants[0].Day.OutputTokens);
        Assert.Equal(12, budget.Grants[0].Day.InputTokens);
    }

    [Fact]
    public async Task OpenAI_sdk_embeddings_with_embeddings_capability()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai", caps: ["embeddings"]));
        var client = new EmbeddingClient("text-embedding-3-small", new ApiKeyCredential(token), new OpenAIClientOptions { Endpoint = new Uri(Vault.Url + "/v1/openai"), RetryPolicy = new ClientRetryPolicy(0) });
        var result = await client.GenerateEmbeddingAsync("hello");
        Assert.Equal(3, result.Value.ToFloats().Length);
        var budget = await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id);
        Assert.Equal(12, budget!.Grants[0].Day.InputTokens);
    }

    [Fact]
    public async Task OpenAI_sdk_raises_readable_error_for_model_not_allowed()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("openai", ["gpt-4o-mini"]));
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => OpenAIChat(token, "gpt-4o").CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions(), default));
        Assert.Equal(403, ex.Status);
        Assert.Contains("model_not_allowed", ex.Message);
        Assert.Contains("gpt-4o", ex.Message);
    }

    [Fact]
    public async Task OpenAI_sdk_raises_readable_error_for_revoked_token()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("openai"));
        await Vault.Tokens.RevokeAsync(VaultHost.Owner, id, DateTimeOffset.UtcNow, default);
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => OpenAIChat(token).CompleteChatAsync([new UserChatMessage("Hi")], new ChatCompletionOptions(), default));
        Assert.Equal(401, ex.Status);
        Assert.Contains("token_revoked", ex.Message);
    }

    [Fact]
    public async Task Anthropic_sdk_messages_go_through_with_x_api_key()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("anthropic", ["claude-sonnet-4-5"], ["chat"]));
        var message = await Anthropic(token).Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 100,
            Messages = [new UserMessageParam { Content = "Hi" }],
        });
        Assert.True(message.Content[0].TryPickText(out var textBlock));
        Assert.Equal("Hello from fake", textBlock!.Text);

        var seen = Fake.Last(s => s.Path == "/anthropic/v1/messages")!;
        Assert.Equal("sk-master-anthropic", seen.Header("x-api-key"));
        Assert.Null(seen.Header("authorization"));
        AssertNoTokenLeak(seen, token);

        var budget = await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id);
        Assert.Equal(12, budget!.Grants[0].Day.InputTokens);
        Assert.Equal(5, budget.Grants[0].Day.OutputTokens);
        // 12 * $3/M + 5 * $15/M = 36 + 75 micro-dollars
        Assert.Equal(111, budget.Grants[0].Day.CostMicros);
    }

    [Fact]
    public async Task Anthropic_sdk_streaming_is_metered()
    {
        var (token, id) = await Vault.IssueAsync(VaultHost.Grant("anthropic"));
        var text = "";
        await foreach (var ev in Anthropic(token).Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 100,
            Messages = [new UserMessageParam { Content = "Hi" }],
        }))
        {
            if (ev.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var t)) text += t!.Text;
        }
        Assert.Equal("Hello from fake", text);
        var budget = await Vault.Budget.GetTokenBudgetAsync(VaultHost.Owner, id);
        Assert.Equal(12, budget!.Grants[0].Day.InputTokens);
        Assert.Equal(5, budget.Grants[0].Day.OutputTokens);
    }

    [Fact]
    public async Task Anthropic_sdk_raises_readable_error_for_capability()
    {
        var (token, _) = await Vault.IssueAsync(VaultHost.Grant("anthropic", ["claude-haiku-4-5"]));
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => Anthropic(token).Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 100,
            Messages = [new UserMessageParam { Content = "Hi" }],
        }));
        Assert.Contains("claude-sonnet-4-5", ex.Message);
    }
}
