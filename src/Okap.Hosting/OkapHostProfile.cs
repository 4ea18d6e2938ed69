namespace Okap.Hosting;

/// <summary>What differs between the hosts that run the vault; everything else they wire alike (<see cref="OkapHostingExtensions"/>).</summary>
/// <param name="DefaultStore"><c>Okap:Store</c> when it is not set: <c>Sqlite</c> or <c>Azure</c>.</param>
/// <param name="DefaultPublicUrl">The vault's address named in start-up messages when neither <c>Okap:PublicUrl</c> nor <c>WEBSITE_HOSTNAME</c> is set.</param>
/// <param name="LocalStoresAreLocalOnly">
/// True where SQLite and the Data Protection secret store are for local runs only: they are refused on an Azure
/// instance (whose disk is neither shared nor kept) and said so at start-up.
/// </param>
public sealed record OkapHostProfile(string DefaultStore, string DefaultPublicUrl, bool LocalStoresAreLocalOnly)
{
    /// <summary>The self-hosted server: SQLite in its data folder unless told otherwise, on <c>http://localhost:5080</c>.</summary>
    public static OkapHostProfile Server { get; } = new("Sqlite", "http://localhost:5080", LocalStoresAreLocalOnly: false);

    /// <summary>The Azure Functions app: Table Storage and Key Vault unless told otherwise, on <c>http://localhost:7071</c> locally.</summary>
    public static OkapHostProfile Functions { get; } = new("Azure", "http://localhost:7071", LocalStoresAreLocalOnly: true);
}
