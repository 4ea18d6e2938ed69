using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;

namespace Okap.Core.Accounts.SignIn;

/// <summary>Bound from <c>Okap:SignIn</c>.</summary>
public sealed class SignInThrottleOptions
{
    public const string Section = "Okap:SignIn";

    /// <summary>Failed sign-ins (password, code or passkey) one address may make per window before it must wait.</summary>
    [Range(1, 10_000)]
    public int MaxFailuresPerAddress { get; set; } = 10;

    /// <summary>The window failures are counted in; the wait lasts until it ends.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>
/// Slows down guessing by address, counted in the shared store so every instance sees the same count. There is no
/// per-account lock: it would let anyone lock an owner out from anywhere, and it would tell which user names exist.
/// Guessing from many addresses is met by the password policy and the second factor instead.
/// </summary>
public sealed class SignInThrottle(ISignInStore store, Microsoft.Extensions.Options.IOptions<SignInThrottleOptions> options, TimeProvider time)
{
    private readonly SignInThrottleOptions _options = options.Value;

    /// <summary>How long <paramref name="clientAddress"/> must wait before trying again, or null when it may try now.</summary>
    public async Task<TimeSpan?> WaitAsync(string? clientAddress, CancellationToken ct)
    {
        var (window, ends) = Window();
        var failures = await store.ReadFailuresAsync(AddressKey(clientAddress), window, ct);
        return failures >= _options.MaxFailuresPerAddress ? ends - time.GetUtcNow() : null;
    }

    /// <summary>Counts a failure; returns the wait now due (null while the address is under the limit).</summary>
    public async Task<TimeSpan?> RecordFailureAsync(string? clientAddress, CancellationToken ct)
    {
        var (window, ends) = Window();
        var failures = await store.CountFailureAsync(AddressKey(clientAddress), window, ct);
        return failures >= _options.MaxFailuresPerAddress ? ends - time.GetUtcNow() : null;
    }

    /// <summary>
    /// The key an address is counted under: IPv4 as is, IPv6 by its /64 (one host usually holds a whole /64, so
    /// counting single v6 addresses would not slow anyone), an IPv4-mapped v6 address as the v4 one.
    /// </summary>
    public static string AddressKey(string? clientAddress)
    {
        if (!IPAddress.TryParse(clientAddress, out var address)) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    private (DateTimeOffset Start, DateTimeOffset End) Window()
    {
        var ticks = _options.FailureWindow.Ticks;
        var now = time.GetUtcNow();
        var start = new DateTimeOffset(now.UtcTicks - now.UtcTicks % ticks, TimeSpan.Zero);
        return (start, start + _options.FailureWindow);
    }
}
