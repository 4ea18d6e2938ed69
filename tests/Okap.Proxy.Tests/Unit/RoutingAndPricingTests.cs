using Okap.Core.Metering;
using Okap.Core.Pricing;
using Okap.Core.Providers;

namespace Okap.Proxy.Tests.Unit;

public sealed class RouteClassifierTests
{
    [Theory]
    [InlineData("POST", "chat/completions", RouteKind.ChatCompletions, "chat")]
    [InlineData("POST", "v1/chat/completions", RouteKind.ChatCompletions, "chat")]
    [InlineData("POST", "responses", RouteKind.Responses, "chat")]
    [InlineData("POST", "completions", RouteKind.Completions, "completions")]
    [InlineData("POST", "embeddings", RouteKind.Embeddings, "embeddings")]
    [InlineData("POST", "images/generations", RouteKind.Images, "images")]
    [InlineData("POST", "audio/transcriptions", RouteKind.Audio, "audio")]
    [InlineData("POST", "moderations", RouteKind.Moderation, "moderation")]
    [InlineData("GET", "models", RouteKind.Meta, null)]
    [InlineData("GET", "models/gpt-4o", RouteKind.Meta, null)]
    [InlineData("GET", "files", RouteKind.Other, null)]
    [InlineData("POST", "batches", RouteKind.Other, null)]
    [InlineData("GET", "chat/completions", RouteKind.Other, null)]
    [InlineData("POST", "api/chat", RouteKind.OllamaChat, "chat")]
    public void OpenAI_paths(string method, string path, RouteKind kind, string? capability)
    {
        var r = RouteClassifier.Classify(ApiFormat.OpenAI, method, path);
        Assert.Equal(kind, r.Kind);
        Assert.Equal(capability, r.Capability);
    }

    [Theory]
    [InlineData("POST", "v1/messages", RouteKind.AnthropicMessages, "chat")]
    [InlineData("POST", "v1/complete", RouteKind.AnthropicComplete, "completions")]
    [InlineData("POST", "v1/messages/count_tokens", RouteKind.Meta, null)]
    [InlineData("GET", "v1/models", RouteKind.Meta, null)]
    [InlineData("POST", "v1/messages/batches", RouteKind.Other, null)]
    public void Anthropic_paths(string method, string path, RouteKind kind, string? capability)
    {
        var r = RouteClassifier.Classify(ApiFormat.Anthropic, method, path);
        Assert.Equal(kind, r.Kind);
        Assert.Equal(capability, r.Capability);
    }

    [Fact]
    public void Gemini_paths_carry_the_model()
    {
        var r = RouteClassifier.Classify(ApiFormat.Gemini, "POST", "v1beta/models/gemini-2.0-flash:streamGenerateContent");
        Assert.Equal((RouteKind.GeminiGenerate, "chat", "gemini-2.0-flash", true), (r.Kind, r.Capability, r.PathModel, r.PathStreams));
        r = RouteClassifier.Classify(ApiFormat.Gemini, "POST", "v1/models/text-embedding-004:embedContent");
        Assert.Equal((RouteKind.GeminiEmbed, "embeddings", "text-embedding-004"), (r.Kind, r.Capability, r.PathModel));
        Assert.Equal(RouteKind.Meta, RouteClassifier.Classify(ApiFormat.Gemini, "GET", "v1beta/models").Kind);
        Assert.Equal(RouteKind.Other, RouteClassifier.Classify(ApiFormat.Gemini, "POST", "v1beta/files").Kind);
        Assert.Equal(RouteKind.Other, RouteClassifier.Classify(ApiFormat.Gemini, "POST", "v1beta/models/x:tuneModel").Kind);
    }

    [Fact]
    public void Cohere_paths_and_its_openai_compatible_api()
    {
        Assert.Equal(RouteKind.CohereChat, RouteClassifier.Classify(ApiFormat.Cohere, "POST", "v2/chat").Kind);
        Assert.Equal(RouteKind.CohereEmbed, RouteClassifier.Classify(ApiFormat.Cohere, "POST", "v1/embed").Kind);
        var compat = RouteClassifier.Classify(ApiFormat.Cohere, "POST", "compatibility/v1/chat/completions");
        Assert.Equal((RouteKind.ChatCompletions, ApiFormat.OpenAI), (compat.Kind, compat.Format));
        Assert.Equal(RouteKind.Other, RouteClassifier.Classify(ApiFormat.Cohere, "POST", "v2/rerank").Kind);
    }

    [Theory]
    [InlineData("openai", true)]
    [InlineData("my-llm_2", true)]
    [InlineData("OpenAI", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void Provider_ids(string id, bool valid) => Assert.Equal(valid, ProviderCatalog.IsValidId(id));

    [Fact]
    public void Unknown_providers_are_openai_compatible_without_default_upstream()
    {
        var p = ProviderCatalog.Resolve("my-llm");
        Assert.Equal((ApiFormat.OpenAI, UpstreamAuthStyle.Bearer, null), (p.Format, p.Auth, p.DefaultBaseUrl));
        Assert.Equal(UpstreamAuthStyle.XApiKey, ProviderCatalog.Resolve("anthropic").Auth);
        Assert.Equal("https://api.groq.com/openai/v1", ProviderCatalog.Resolve("groq").DefaultBaseUrl);
    }
}

public sealed class PriceCatalogTests
{
    private static readonly PriceCatalog Catalog = PriceCatalog.Default;

    [Fact]
    public void Has_a_version_and_prices_known_models() 
    {
        Assert.False(string.IsNullOrEmpty(Catalog.Version));
        var p = Catalog.Find("openai", "gpt-4o-mini")!;
        Assert.Equal((150_000, 75_000L, 600_000), (p.InputMicrosPerMillion, p.CachedInputMicrosPerMillion, p.OutputMicrosPerMillion));
    }

    [Theory]
    [InlineData("openai", "gpt-4o-2024-08-06", "gpt-4o")]
    [InlineData("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini")]
    [InlineData("anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4")]
    [InlineData("anthropic", "claude-3-5-haiku-latest", "claude-3-5-haiku")]
    [InlineData("google", "models/gemini-2.0-flash", "gemini-2.0-flash")]
    [InlineData("google", "gemini-2.0-flash-001", "gemini-2.0-flash")]
    public void Dated_and_versioned_names_match_their_entry(string provider, string model, string entry) =>
        Assert.Same(Catalog.Find(provider, entry), Catalog.Find(provider, model));

    [Theory]
    [InlineData("openai", "gpt-4o-audio-preview")]
    [InlineData("openai", "gpt-4.5")]
    [InlineData("openai", "my-deployment")]
    [InlineData("mystery", "gpt-4o")]
    [InlineData("openai", null)]
    public void Unknown_models_are_unpriced(string provider, string? model) => Assert.Null(Catalog.Find(provider, model));

    [Fact]
    public void Ollama_is_free_by_wildcard() => Assert.Equal(0, Catalog.Find("ollama", "llama3.2:3b")!.OutputMicrosPerMillion);

    [Fact]
    public void Owner_overrides_win_and_wildcards_fill_gaps()
    {
        var mine = new ModelPrice(1, 1, 1);
        var any = new ModelPrice(2, 2, 2);
        PriceOverride[] overrides =
        [
            new("o", "openai", "gpt-4o", mine, DateTimeOffset.UtcNow),
            new("o", "openai", "*", any, DateTimeOffset.UtcNow),
        ];
        Assert.Same(mine, Catalog.Find("openai", "gpt-4o", overrides));
        Assert.Same(any, Catalog.Find("openai", "my-deployment", overrides));
        Assert.Equal(150_000, Catalog.Find("openai", "gpt-4o-mini", overrides)!.InputMicrosPerMillion);
    }

    [Fact]
    public void Cost_is_integer_micro_dollars_rounded_up()
    {
        var p = new ModelPrice(2_500_000, 1_250_000, 10_000_000); // gpt-4o
        Assert.Equal(2_500 + 1_250 + 10_000, p.CostMicros(new TokenUsage(1000, 1000, 1000)));
        Assert.Equal(1, new ModelPrice(150_000, null, 600_000).CostMicros(new TokenUsage(1, 0, 0))); // 0.15 → 1
        Assert.Equal(0, p.CostMicros(default));
        Assert.Equal(10, new ModelPrice(1_000_000, null, 0).CostMicros(new TokenUsage(5, 5, 0))); // cached priced as input when no cached price
    }

    [Fact]
    public void Catalog_file_loads_from_a_stream()
    {
        using var s = new MemoryStream("""{"version":"x","providers":{"p":{"m":{"input":0.5,"output":1.25,"max_output":10}}}}"""u8.ToArray());
        var c = PriceCatalog.Load(s);
        Assert.Equal(new ModelPrice(500_000, null, 1_250_000, 10), c.Find("p", "m"));
    }
}
