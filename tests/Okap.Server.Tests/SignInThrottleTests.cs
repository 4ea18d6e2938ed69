using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Okap.Server.Tests;

/// <summary>
/// Failed sign-ins are throttled per address in the shared store (two instances here, on one SQLite file or one
/// Azurite), never by locking the account: the owner signs in from elsewhere meanwhile.
/// </summary>
public sealed class SignInThrottleTests : IDisposable
{
    private const string AddressHeader = "X-Test-Client-Address";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 4, 10, 0, 0, TimeSpan.Zero));
    private readonly VaultFactory _first;
    private readonly VaultFactory _second;

    public SignInThrottleTests()
    {
        _first = new VaultFactory { Time = _time, TestServices = AddressFromHeader };
        _second = new VaultFactory(_first) { Time = _time, TestServices = AddressFromHeader };
        foreach (var vault in new[] { _first, _second })
        {
            vault.Settings["Okap:SignIn:MaxFailuresPerAddress"] = "4";
            vault.Settings["Okap:SignIn:FailureWindow"] = "00:15:00";
            vault.Settings["Okap:Auth:SessionMaxAge"] = "02:00:00";
        }
    }

    public void Dispose()
    {
        _second.Dispose();
        _first.Dispose();
    }

    [Fact]
    public async Task After_the_limit_one_address_waits_whichever_instance_it_asks_while_the_owner_signs_in_from_another()
    {
        await _first.SignUpAsync("alice");
        _time.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromTicks(_time.GetUtcNow().UtcTicks % TimeSpan.FromMinutes(15).Ticks));
        var attacker = "203.0.113.9";
        // Unknown names count the same as wrong passwords, on either instance.
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(_first, attacker, "alice", "guess one is wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(_second, attacker, "nobody-here", "guess two is wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(_first, attacker, "alice", "guess three is wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(_second, attacker, "alice", "guess four is wrong")).StatusCode);

        var throttled = await LoginAsync(_first, attacker, "alice", "correct horse battery");
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal("too_many_attempts", (await throttled.JsonAsync())["error"]!["type"]!.GetValue<string>());
        Assert.Equal(TimeSpan.FromMinutes(15), throttled.Headers.RetryAfter!.Delta);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(_second, attacker, "nobody-here", "x")).StatusCode);
        // The owner, from anywhere else, is not locked out.
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(_second, "198.51.100.20", "alice", "correct horse battery")).StatusCode);

        _time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(_first, attacker, "alice", "correct horse battery")).StatusCode);
    }

    [Fact]
    public async Task IPv6_addresses_are_counted_by_their_slash_64()
    {
        await _first.SignUpAsync("bob");
        for (var i = 1; i <= 4; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await LoginAsync(_first, $"2001:db8:7:8::{i:x}", "bob", "not the password")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, (await LoginAsync(_second, "2001:db8:7:8:ffff::1", "bob", "correct horse battery")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await LoginAsync(_second, "2001:db8:7:9::1", "bob", "correct horse battery")).StatusCode);
    }

    [Fact]
    public async Task A_session_signed_out_on_one_instance_is_refused_by_the_other()
    {
        await _first.SignUpAsync("carol");
        var cookie = await CookieOfAsync("carol");
        var elsewhere = _second.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = false });
        elsewhere.DefaultRequestHeaders.Add("Cookie", cookie);
        Assert.Equal(HttpStatusCode.OK, (await elsewhere.GetAsync("/okap/account/session")).StatusCode);

        var signedIn = _first.ClientFor();
        signedIn.DefaultRequestHeaders.Add("Cookie", cookie);
        await VaultFactory.ArmCsrfAsync(signedIn);
        Assert.Equal(HttpStatusCode.NoContent, (await signedIn.PostAsync("/okap/account/logout-everywhere", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await elsewhere.GetAsync("/okap/account/session")).StatusCode);
    }

    [Fact]
    public async Task A_session_ends_at_its_maximum_age_however_busy_it_is()
    {
        await _first.SignUpAsync("dave");
        var cookie = await CookieOfAsync("dave");
        var browser = _second.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = false });
        browser.DefaultRequestHeaders.Add("Cookie", cookie);
        for (var i = 0; i < 11; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/okap/account/session")).StatusCode);
            _time.Advance(TimeSpan.FromMinutes(10)); // well inside the 12 h idle limit, every time
        }
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/okap/account/session")).StatusCode);
        _time.Advance(TimeSpan.FromMinutes(10)); // 2 h since sign-in
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/okap/account/session")).StatusCode);
    }

    private async Task<string> CookieOfAsync(string userName)
    {
        var client = _first.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { HandleCookies = false });
        var login = await client.PostAsJsonAsync("/okap/account/login", new { user_name = userName, password = "correct horse battery" });
        login.EnsureSuccessStatusCode();
        return string.Join("; ", login.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0]));
    }

    private static Task<HttpResponseMessage> LoginAsync(VaultFactory vault, string address, string userName, string password)
    {
        var client = vault.ClientFor();
        client.DefaultRequestHeaders.Add(AddressHeader, address);
        return client.PostAsJsonAsync("/okap/account/login", new { user_name = userName, password });
    }

    private static void AddressFromHeader(IServiceCollection services) => services.AddSingleton<IStartupFilter, ClientAddressFromHeader>();

    private sealed class ClientAddressFromHeader : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(inner => context =>
            {
                if (IPAddress.TryParse(context.Request.Headers[AddressHeader].ToString(), out var address)) context.Connection.RemoteIpAddress = address;
                return inner(context);
            });
            next(app);
        };
    }
}
