using Microsoft.Playwright;

namespace Okap.Web.Tests;

/// <summary>Model prices: the owner's overrides (add, replace, remove, errors next to the field) and the read-only catalog.</summary>
public sealed class PriceTests(BrowserFixture browser) : WebTest(browser)
{
    private ILocator Rows => Page.Locator("#prices-table tbody tr");

    private ILocator Row(string provider, string model) => Page.Locator($"#prices-table tr[data-provider='{provider}'][data-model='{model}']");

    private async Task FillAsync(string provider, string model, string input, string output, string cached = "", string maxOutput = "")
    {
        await Page.GetByLabel("Provider").SelectOptionAsync(provider);
        await Page.GetByLabel("Model", new() { Exact = true }).FillAsync(model);
        await Page.GetByLabel("Input", new() { Exact = true }).FillAsync(input);
        await Page.GetByLabel("Cached input (optional)").FillAsync(cached);
        await Page.GetByLabel("Output", new() { Exact = true }).FillAsync(output);
        await Page.GetByLabel("Most output tokens per call (optional)").FillAsync(maxOutput);
    }

    [Fact]
    public async Task Price_add_replace_and_remove_an_override()
    {
        var admin = await SignedInAsync("#/");
        await Page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "Prices" }).ClickAsync();
        await Expect(Page.Locator("h1")).ToHaveTextAsync("Model prices");
        await Expect(Page.Locator("#nav a[data-route=prices]")).ToHaveAttributeAsync("aria-current", "page");
        var unsafeWrites = new List<string>();
        Page.Request += (_, r) =>
        {
            if (r.Method != "GET" && r.Url.Contains("/okap/admin/", StringComparison.Ordinal) && !r.Headers.ContainsKey("x-csrf-token")) unsafeWrites.Add(r.Method + " " + r.Url);
        };
        await Expect(Page.GetByText("No prices of your own: the built-in catalog prices every call.")).ToBeVisibleAsync();
        await Expect(Page.Locator("#price-model-hint")).ToContainTextAsync("* means every model of this provider that the built-in catalog does not price");

        // Add.
        await FillAsync("openai", "my-finetune", "0.3", "1.2", cached: "0.075", maxOutput: "16384");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save price", Exact = true }).ClickAsync();
        var row = Row("openai", "my-finetune");
        await Expect(row).ToContainTextAsync("$0.30");
        await Expect(row).ToContainTextAsync("$0.075");
        await Expect(row).ToContainTextAsync("$1.20");
        await Expect(row).ToContainTextAsync("16,384");
        await Expect(Page.GetByLabel("Model", new() { Exact = true })).ToHaveValueAsync("");

        // A provider-wide price for every model the catalog lacks.
        await FillAsync("groq", "*", "0.1", "0.2");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save price", Exact = true }).ClickAsync();
        await Expect(Row("groq", "*")).ToContainTextAsync("every other model");
        await Expect(Rows).ToHaveCountAsync(2);

        // Replace: the row's button fills the form and the submit button says so.
        await row.GetByRole(AriaRole.Button, new() { Name = "Replace the price of OpenAI my-finetune" }).ClickAsync();
        await Expect(Page.GetByLabel("Input", new() { Exact = true })).ToBeFocusedAsync();
        await Expect(Page.GetByLabel("Model", new() { Exact = true })).ToHaveValueAsync("my-finetune");
        await Expect(Page.GetByLabel("Cached input (optional)")).ToHaveValueAsync("0.075");
        await Page.GetByLabel("Input", new() { Exact = true }).FillAsync("0.5");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Replace price", Exact = true }).ClickAsync();
        await Expect(row).ToContainTextAsync("$0.50");
        await Expect(Rows).ToHaveCountAsync(2);
        var stored = (await admin.GetAsync("/okap/admin/prices"))!.AsArray();
        var finetune = stored.Single(p => p!["model"]!.GetValue<string>() == "my-finetune")!;
        Assert.Equal(0.5m, finetune["input_per_million"]!.GetValue<decimal>());
        Assert.Equal(16384, finetune["max_output_tokens"]!.GetValue<int>());
        await ShotAsync("prices");

        // Remove, after the in-page confirmation; cancelling first keeps it.
        await row.GetByRole(AriaRole.Button, new() { Name = "Remove the price of OpenAI my-finetune" }).ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(Rows).ToHaveCountAsync(2);
        await row.GetByRole(AriaRole.Button, new() { Name = "Remove the price of OpenAI my-finetune" }).ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Remove price" }).ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        await Expect(Rows).ToHaveCountAsync(1);
        Assert.Single((await admin.GetAsync("/okap/admin/prices"))!.AsArray());
        Assert.Empty(unsafeWrites);
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Price_the_vaults_error_is_shown_next_to_the_field()
    {
        await SignedInAsync("#/prices");
        await Expect(Page.Locator(".loading")).ToHaveCountAsync(0);

        // A negative price: the vault refuses it, naming the output field.
        await FillAsync("openai", "gpt-4o-mini", "0.15", "-1");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save price", Exact = true }).ClickAsync();
        var outputError = Page.Locator("#price-output-error");
        await Expect(outputError).ToBeVisibleAsync();
        await Expect(outputError).ToContainTextAsync("output_per_million is 0 to 10000");
        var output = Page.GetByLabel("Output", new() { Exact = true });
        await Expect(output).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(output).ToBeFocusedAsync();
        Assert.Contains("price-output-error", await output.GetAttributeAsync("aria-describedby"));
        await Expect(Page.Locator("#price-input-error")).ToBeHiddenAsync();
        await Expect(Page.Locator(".form-error")).ToBeHiddenAsync();
        await Expect(Page.GetByText("No prices of your own: the built-in catalog prices every call.")).ToBeVisibleAsync();

        // Fixing it clears the error.
        await output.FillAsync("0.6");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save price", Exact = true }).ClickAsync();
        await Expect(Row("openai", "gpt-4o-mini")).ToContainTextAsync("$0.60");
        await Expect(outputError).ToBeHiddenAsync();
        await Expect(output).Not.ToHaveAttributeAsync("aria-invalid", "true");

        // A too-large max_output_tokens lands next to its own field.
        await FillAsync("openai", "gpt-4o", "2.5", "10", maxOutput: "20000000");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save price", Exact = true }).ClickAsync();
        await Expect(Page.Locator("#price-max-output-error")).ToContainTextAsync("max_output_tokens is 1 to 10000000");
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Price_a_model_name_with_a_slash_round_trips()
    {
        const string model = "meta-llama/Llama-3.3-70B-Instruct-Turbo";
        var admin = await SignedInAsync("#/prices");
        await FillAsync("together", model, "0.88", "0.88");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save price", Exact = true }).ClickAsync();
        var row = Row("together", model);
        await Expect(row).ToContainTextAsync(model);
        await Expect(row).ToContainTextAsync("Together AI");

        var stored = (await admin.GetAsync("/okap/admin/prices"))!.AsArray();
        Assert.Equal(model, Assert.Single(stored)!["model"]!.GetValue<string>());
        Assert.Equal("together", stored[0]!["provider"]!.GetValue<string>());

        // Survives a reload, and replacing it updates the same entry.
        await Page.ReloadAsync();
        await row.GetByRole(AriaRole.Button, new() { Name = "Replace the price of Together AI " + model }).ClickAsync();
        await Page.GetByLabel("Output", new() { Exact = true }).FillAsync("0.9");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Replace price", Exact = true }).ClickAsync();
        await Expect(row).ToContainTextAsync("$0.90");
        await Expect(Rows).ToHaveCountAsync(1);

        await row.GetByRole(AriaRole.Button, new() { Name = "Remove the price of Together AI " + model }).ClickAsync();
        await Page.Locator("#confirm-dialog").GetByRole(AriaRole.Button, new() { Name = "Remove price" }).ClickAsync();
        await Expect(Page.GetByText("No prices of your own: the built-in catalog prices every call.")).ToBeVisibleAsync();
        Assert.Empty((await admin.GetAsync("/okap/admin/prices"))!.AsArray());
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Price_markup_in_the_model_field_is_refused_or_shown_as_text()
    {
        const string markup = "<img src=x onerror=window.__xss=1>";
        await SignedInAsync("#/prices");
        await FillAsync("openai", markup, "1", "2");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save price", Exact = true }).ClickAsync();
        // The vault refuses it (spaces are not allowed in a model name), and says so next to the model field.
        await Expect(Page.Locator("#price-model-error")).ToContainTextAsync("model is 1 to 128 printable characters");
        Assert.Equal(0, await Page.Locator("#app img").CountAsync());

        // Without spaces it is a valid name: stored, and shown only as text.
        const string tight = "<img/src=x/onerror=window.__xss=1>";
        await Page.GetByLabel("Model", new() { Exact = true }).FillAsync(tight);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Save price", Exact = true }).ClickAsync();
        await Expect(Page.Locator("#prices-table tbody tr")).ToHaveCountAsync(1);
        await Expect(Page.Locator("#prices-table tbody tr")).ToContainTextAsync(tight);
        await Page.ReloadAsync();
        await Expect(Page.Locator("#prices-table tbody tr")).ToContainTextAsync(tight);
        Assert.Equal(0, await Page.Locator("#app img").CountAsync());
        Assert.True(await Page.EvaluateAsync<bool>("() => window.__xss === undefined"));
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Price_catalog_shows_its_version_and_can_be_searched()
    {
        var admin = await SignedInAsync("#/prices");
        var catalog = (await admin.GetAsync("/okap/admin/catalog"))!;
        var version = catalog["version"]!.GetValue<string>();
        var total = catalog["models"]!.AsArray().Count;
        Assert.True(total > 5);

        await Expect(Page.Locator("#catalog-version")).ToHaveTextAsync(version);
        var details = Page.Locator("#catalog-details");
        Assert.False(await details.EvaluateAsync<bool>("d => d.open"));     // collapsed by default
        await Expect(Page.Locator("#catalog-search")).ToBeHiddenAsync();

        // Opened with the keyboard.
        await details.Locator("summary").FocusAsync();
        await Page.Keyboard.PressAsync("Enter");
        var search = Page.GetByLabel("Search the catalog");
        await Expect(search).ToBeVisibleAsync();
        await Expect(Page.Locator("#catalog-table tbody tr")).ToHaveCountAsync(total);
        await search.FillAsync("gpt-4o-mini");
        await Expect(Page.Locator("#catalog-table tbody tr[data-model='gpt-4o-mini']")).ToHaveCountAsync(1);
        await Expect(Page.Locator("#catalog-table tbody tr[data-provider='anthropic']")).ToHaveCountAsync(0);
        await Expect(Page.Locator("#catalog-count")).ToContainTextAsync("of " + total + " models");
        await search.FillAsync("anthropic");
        Assert.True(await Page.Locator("#catalog-table tbody tr").CountAsync() > 0);
        await Expect(Page.Locator("#catalog-table tbody tr[data-provider='openai']")).ToHaveCountAsync(0);
        await search.FillAsync("no-such-model-anywhere");
        await Expect(Page.Locator("#catalog-table tbody tr")).ToHaveCountAsync(0);
        await Expect(Page.Locator("#catalog-count")).ToContainTextAsync("0 of");
        AssertNoPageProblems();
    }

    [Fact]
    public async Task Price_screen_fits_a_375px_phone()
    {
        await Page.SetViewportSizeAsync(375, 740);
        var admin = await SignedInAsync("#/prices");
        await admin.SendAsync(HttpMethod.Put, "/okap/admin/prices/together/meta-llama%2FLlama-3.3-70B-Instruct-Turbo",
            new { input_per_million = 0.88, output_per_million = 0.88, max_output_tokens = 8192 });
        await Page.ReloadAsync();
        await Expect(Rows).ToHaveCountAsync(1);
        await Page.Locator("#catalog-details summary").ClickAsync();
        await Expect(Page.Locator("#catalog-table")).ToBeVisibleAsync();
        var width = await Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        Assert.True(width <= 375, $"the prices screen is {width}px wide on a 375px screen");
        await ShotAsync("mobile-prices");
        AssertNoPageProblems();
    }
}
