namespace Okap.Client;

/// <summary>Where the vault is and who is asking; passed to <see cref="OkapClient"/>.</summary>
public sealed class OkapClientOptions
{
    /// <summary>
    /// The person's vault URL, e.g. <c>https://alice.vault.example.com</c>. Required. Like the Python SDK, the client
    /// joins the OKAP routes onto it as absolute paths (<c>/okap/request</c>, <c>/okap/authorize</c>), so any path in
    /// this URL is dropped.
    /// </summary>
    public required Uri VaultUrl { get; init; }

    /// <summary>
    /// The app's name as the person sees it on the approval screen (<c>app_name</c> / <c>client.name</c>). Optional for
    /// <see cref="OkapClient.RequestAccessAsync"/> (the vault then shows "Unnamed app"); required by
    /// <see cref="OkapClient.AuthorizeAsync"/>.
    /// </summary>
    public string? AppName { get; init; }

    /// <summary>The app's home page, shown to the person (<c>app_url</c> / <c>client.url</c>); absolute http(s) URL.</summary>
    public Uri? AppUrl { get; init; }

    /// <summary>Where the app wants the person sent back after deciding (<c>redirect_uri</c> / <c>client.callback</c>); absolute URL.</summary>
    public Uri? Callback { get; init; }

    /// <summary>
    /// Allows a plain-http vault URL on a host other than the loopback. Off by default: OKAP tokens and poll handles
    /// are bearer secrets and must travel over HTTPS. <c>http://localhost</c>, <c>127.0.0.1</c> and <c>[::1]</c> are always allowed.
    /// </summary>
    public bool AllowInsecureHttp { get; init; }
}
