using System.ComponentModel.DataAnnotations;

namespace Okap.AspNetCore;

/// <summary>Settings of the HTTP layer, bound from <c>Okap:Http</c> and <c>Okap:Auth</c>.</summary>
public sealed class OkapHttpOptions
{
    /// <summary>Largest accepted body on the OKAP and admin routes.</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Requests per minute one client address may make to the public OKAP routes and to sign-in.</summary>
    [Range(1, 100_000)]
    public int PublicRequestsPerMinute { get; set; } = 30;

    /// <summary>How long <c>/okap/ready</c> reuses its last store and secret store check (edge probes arrive from many locations).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan ReadinessCacheTtl { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Owner sign-in settings (<c>Okap:Auth</c>).</summary>
public sealed class OkapAuthOptions
{
    /// <summary>
    /// Trust the <c>X-MS-CLIENT-PRINCIPAL</c> header. Only App Service / Functions Authentication sets it, and it strips
    /// any client-sent copy; anywhere else anyone could forge it, so it is ignored unless this is on.
    /// </summary>
    public bool TrustAppServicePrincipal { get; set; }

    /// <summary>Where the page sends a person to sign in when <see cref="TrustAppServicePrincipal"/> is on (App Service Authentication, Entra ID by default).</summary>
    public string PlatformSignInPath { get; set; } = "/.auth/login/aad?post_login_redirect_uri=/";

    /// <summary>Where the page sends a person to sign out of the platform's session.</summary>
    public string PlatformSignOutPath { get; set; } = "/.auth/logout?post_logout_redirect_uri=/";

    /// <summary>Allow anyone to create an account (multi-user self-hosting). Off: only the setup link creates the first account.</summary>
    public bool AllowRegistration { get; set; }

    /// <summary>Session cookie lifetime.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "30.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>The longest a session lasts however active it is; then the owner signs in again.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "365.00:00:00")]
    public TimeSpan SessionMaxAge { get; set; } = TimeSpan.FromDays(30);
}
