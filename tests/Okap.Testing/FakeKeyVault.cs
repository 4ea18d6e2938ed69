using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;

namespace Okap.Testing;

/// <summary>
/// An in-process fake of the Key Vault secrets REST API (api-version 7.x JSON shapes), plugged in as the
/// SecretClient's transport. Implements the bearer challenge (401 + <c>WWW-Authenticate</c>), secret versions,
/// soft delete with <c>recoveryId</c>, recover, purge (403 under purge protection), listing, 404
/// <c>SecretNotFound</c>, 409 <c>ObjectIsDeletedButRecoverable</c>, and 429 with <c>Retry-After</c> on demand.
/// </summary>
public sealed partial class FakeKeyVault : HttpMessageHandler
{
    public const string VaultUri = "https://okap-test.vault.azure.net/";
    public const string AccessToken = "fake-access-token";
    private const string Challenge = "Bearer authorization=\"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47\", resource=\"https://vault.azure.net\"";

    private readonly object _gate = new();
    private readonly Dictionary<string, List<SecretVersion>> _active = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, (List<SecretVersion> Versions, long DeletedOn)> _deleted = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<string> _log = new();

    /// <summary>Purge protection on the vault (purge answers 403).</summary>
    public bool PurgeProtection { get; set; } = true;

    /// <summary>Every request fails as if the network were down.</summary>
    public bool Unreachable { get; set; }

    /// <summary>The next N authorised requests get 429 Too Many Requests.</summary>
    public int ThrottleNext;

    public int RetryAfterSeconds { get; set; }

    /// <summary>Authorised requests as "METHOD /path".</summary>
    public IReadOnlyList<string> Requests => _log.ToList();

    public int Count(string method, string pathStart) =>
        _log.Count(r => r.StartsWith(method + " " + pathStart, StringComparison.OrdinalIgnoreCase));

    public int Throttled;

    /// <summary>A SecretClient talking to this fake through its transport.</summary>
    public SecretClient CreateClient(SecretClientOptions options)
    {
        options.Transport = new HttpClientTransport(this);
        return new SecretClient(new Uri(VaultUri), new FakeCredential(), options);
    }

    public IReadOnlyCollection<string> ActiveNames
    {
        get { lock (_gate) return _active.Keys.ToList(); }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Unreachable) throw new HttpRequestException("Connection refused (fake)");
        if (request.Headers.Authorization is not { Scheme: "Bearer", Parameter: AccessToken })
        {
            var challenge = new HttpResponseMessage(HttpStatusCode.Unauthorized)
            {
                Content = Json(new JsonObject { ["error"] = new JsonObject { ["code"] = "Unauthorized", ["message"] = "AKV10000: Request is missing a Bearer or PoP token." } }),
            };
            challenge.Headers.WwwAuthenticate.ParseAdd(Challenge);
            return challenge;
        }
        var query = request.RequestUri!.Query;
        // SDK 4.12 sends a dated api-version (e.g. 2025-07-01); the secret JSON shapes are those of 7.x.
        if (!query.Contains("api-version=", StringComparison.Ordinal))
        {
            return Error(HttpStatusCode.BadRequest, "BadParameter", "The api-version query parameter is required.");
        }
        var path = request.RequestUri.AbsolutePath.TrimEnd('/');
        _log.Enqueue(request.Method.Method + " " + path);
        bool throttle;
        lock (_gate)
        {
            throttle = ThrottleNext > 0;
            if (throttle)
            {
                ThrottleNext--;
                Throttled++;
            }
        }
        if (throttle)
        {
            var throttled = Error((HttpStatusCode)429, "Throttled", "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached");
            throttled.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(RetryAfterSeconds));
            return throttled;
        }

        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        lock (_gate)
        {
            return (request.Method.Method, segments) switch
            {
                ("GET", ["secrets"]) => ListSecrets(),
                ("PUT", ["secrets", var name]) => SetSecret(name, body),
                ("GET", ["secrets", var name, "versions"]) => ListVersions(name),
                ("GET", ["secrets", var name]) => GetSecret(name, null),
                ("GET", ["secrets", var name, var version]) => GetSecret(name, version),
                ("DELETE", ["secrets", var name]) => DeleteSecret(name),
                ("GET", ["deletedsecrets"]) => ListDeleted(),
                ("GET", ["deletedsecrets", var name]) => GetDeleted(name),
                ("POST", ["deletedsecrets", var name, "recover"]) => Recover(name),
                ("DELETE", ["deletedsecrets", var name]) => Purge(name),
                _ => Error(HttpStatusCode.BadRequest, "BadParameter", "Unknown operation."),
            };
        }
    }

    private HttpResponseMessage SetSecret(string name, string? body)
    {
        if (!NamePattern().IsMatch(name)) return Error(HttpStatusCode.BadRequest, "BadParameter", "The request URI contains an invalid name: " + name);
        if (_deleted.ContainsKey(name)) return DeletedConflict(name);
        var json = body is null ? null : JsonNode.Parse(body);
        var value = json?["value"]?.GetValue<string>();
        if (value is null) return Error(HttpStatusCode.BadRequest, "BadParameter", "Property value is required.");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tags = json!["tags"] is JsonObject t ? t.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>()) : new Dictionary<string, string>();
        var version = new SecretVersion(Guid.NewGuid().ToString("N"), value, json["contentType"]?.GetValue<string>(), tags,
            json["attributes"]?["enabled"]?.GetValue<bool>() ?? true, now, now);
        if (!_active.TryGetValue(name, out var versions)) _active[name] = versions = [];
        versions.Add(version);
        return Ok(Bundle(name, version, includeValue: true));
    }

    private HttpResponseMessage GetSecret(string name, string? version)
    {
        if (_deleted.ContainsKey(name)) return DeletedConflict(name);
        if (!_active.TryGetValue(name, out var versions)) return NotFound(name);
        var found = version is null ? versions[^1] : versions.FirstOrDefault(v => v.Version == version);
        if (found is null) return NotFound(name);
        if (!found.Enabled) return Error(HttpStatusCode.Forbidden, "Forbidden", "Operation get is not allowed on a disabled secret.");
        return Ok(Bundle(name, found, includeValue: true));
    }

    private HttpResponseMessage ListVersions(string name)
    {
        if (!_active.TryGetValue(name, out var versions)) return NotFound(name);
        return Ok(new JsonObject { ["value"] = new JsonArray(versions.Select(v => (JsonNode)Item(name, v, withVersion: true)).ToArray()), ["nextLink"] = null });
    }

    private HttpResponseMessage ListSecrets() =>
        Ok(new JsonObject { ["value"] = new JsonArray(_active.Select(p => (JsonNode)Item(p.Key, p.Value[^1], withVersion: false)).ToArray()), ["nextLink"] = null });

    private HttpResponseMessage DeleteSecret(string name)
    {
        if (!_active.Remove(name, out var versions)) return NotFound(name);
        var deletedOn = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _deleted[name] = (versions, deletedOn);
        return Ok(DeletedBundle(name, versions[^1], deletedOn));
    }

    private HttpResponseMessage GetDeleted(string name) =>
        _deleted.TryGetValue(name, out var d) ? Ok(DeletedBundle(name, d.Versions[^1], d.DeletedOn)) : Error(HttpStatusCode.NotFound, "SecretNotFound", $"Deleted Secret not found: {name}");

    private HttpResponseMessage ListDeleted() =>
        Ok(new JsonObject { ["value"] = new JsonArray(_deleted.Select(p => (JsonNode)DeletedBundle(p.Key, p.Value.Versions[^1], p.Value.DeletedOn)).ToArray()), ["nextLink"] = null });

    private HttpResponseMessage Recover(string name)
    {
        if (!_deleted.Remove(name, out var d)) return Error(HttpStatusCode.NotFound, "SecretNotFound", $"Deleted Secret not found: {name}");
        _active[name] = d.Versions;
        return Ok(Bundle(name, d.Versions[^1], includeValue: false));
    }

    private HttpResponseMessage Purge(string name)
    {
        if (PurgeProtection) return Error(HttpStatusCode.Forbidden, "Forbidden", "Operation \"purge\" is not enabled for this vault.");
        if (!_deleted.Remove(name)) return Error(HttpStatusCode.NotFound, "SecretNotFound", $"Deleted Secret not found: {name}");
        return new HttpResponseMessage(HttpStatusCode.NoContent);
    }

    private JsonObject Bundle(string name, SecretVersion v, bool includeValue)
    {
        var bundle = Item(name, v, withVersion: true);
        if (includeValue) bundle["value"] = v.Value;
        return bundle;
    }

    private JsonObject Item(string name, SecretVersion v, bool withVersion)
    {
        var item = new JsonObject
        {
            ["id"] = $"{VaultUri}secrets/{name}" + (withVersion ? "/" + v.Version : ""),
            ["attributes"] = new JsonObject
            {
                ["enabled"] = v.Enabled,
                ["created"] = v.Created,
                ["updated"] = v.Updated,
                ["recoveryLevel"] = PurgeProtection ? "Recoverable" : "Recoverable+Purgeable",
                ["recoverableDays"] = 90,
            },
            ["tags"] = new JsonObject(v.Tags.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        };
        if (v.ContentType is not null) item["contentType"] = v.ContentType;
        return item;
    }

    private JsonObject DeletedBundle(string name, SecretVersion v, long deletedOn)
    {
        var bundle = Item(name, v, withVersion: true);
        bundle["recoveryId"] = $"{VaultUri}deletedsecrets/{name}";
        bundle["deletedDate"] = deletedOn;
        bundle["scheduledPurgeDate"] = deletedOn + 90 * 86400;
        return bundle;
    }

    private static HttpResponseMessage DeletedConflict(string name) =>
        Error(HttpStatusCode.Conflict, "Conflict",
            $"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
            "ObjectIsDeletedButRecoverable");

    private static HttpResponseMessage NotFound(string name) =>
        Error(HttpStatusCode.NotFound, "SecretNotFound", $"A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.");

    private static HttpResponseMessage Error(HttpStatusCode status, string code, string message, string? inner = null)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (inner is not null) error["innererror"] = new JsonObject { ["code"] = inner };
        return new HttpResponseMessage(status) { Content = Json(new JsonObject { ["error"] = error }) };
    }

    private static HttpResponseMessage Ok(JsonObject body) => new(HttpStatusCode.OK) { Content = Json(body) };

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    [GeneratedRegex("^[0-9a-zA-Z-]{1,127}$")]
    private static partial Regex NamePattern();

    /// <summary>Test helper: the stored versions of a secret (active or deleted).</summary>
    public IReadOnlyList<SecretVersion> Versions(string name)
    {
        lock (_gate)
        {
            if (_active.TryGetValue(name, out var v)) return v.ToList();
            return _deleted.TryGetValue(name, out var d) ? d.Versions.ToList() : [];
        }
    }

    public bool IsDeleted(string name)
    {
        lock (_gate) return _deleted.ContainsKey(name);
    }

    public sealed record SecretVersion(string Version, string Value, string? ContentType, Dictionary<string, string> Tags, bool Enabled, long Created, long Updated);

    /// <summary>Hands out a fixed token for the scope named by the challenge.</summary>
    public sealed class FakeCredential : TokenCredential
    {
        public ConcurrentBag<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            foreach (var scope in requestContext.Scopes) Scopes.Add(scope);
            return new AccessToken(AccessToken, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(GetToken(requestContext, cancellationToken));
    }
}

