namespace Okap.Core.Accounts.SignIn;

/// <summary>
/// Server-side browser sessions. The cookie carries a session id; a cookie whose session is no longer here stops
/// working on every instance at once, so signing out, signing out everywhere and changing the password really end it.
/// </summary>
public sealed class OwnerSessions(SignInStates states, TimeProvider time)
{
    /// <summary>Last-seen times are written at most this often, so browsing the page is not a store write per call.</summary>
    public static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(5);

    /// <summary>A new session id: chosen before the sign-in completes, so what happens on the way is audited under it.</summary>
    public static string NewId() => Secrets.NewId("ses");

    /// <summary>
    /// Records a new session under <paramref name="id"/> (from <see cref="NewId"/>). Sessions idle longer than <paramref name="idleLimit"/> are dropped, and
    /// past <see cref="SignInState.MaxSessions"/> the least recently used one ends.
    /// </summary>
    public Task StartAsync(string ownerId, string id, string method, string? clientAddress, string? userAgent, TimeSpan idleLimit, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var session = new OwnerSession(id, now, now, method, clientAddress, Truncate(userAgent, 200));
        return states.UpdateAsync(ownerId, state =>
        {
            var kept = state.Sessions.Where(s => s.LastSeenAt + idleLimit > now).OrderByDescending(s => s.LastSeenAt)
                .Take(SignInState.MaxSessions - 1).Append(session).ToArray();
            return (state with { Sessions = kept }, true);
        }, ct);
    }

    /// <summary>
    /// True when <paramref name="sessionId"/> is a live session of the owner that has not been idle past
    /// <paramref name="idleLimit"/> nor lived past <paramref name="maxAge"/>; refreshes its last-seen time at most every <see cref="TouchInterval"/>.
    /// </summary>
    public async Task<bool> ValidateAsync(string ownerId, string sessionId, TimeSpan idleLimit, TimeSpan maxAge, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var state = await states.ReadAsync(ownerId, ct);
        var session = state.Sessions.FirstOrDefault(s => s.Id == sessionId);
        // Idle too long, or (however busy) older than the cap: a sliding cookie alone would keep a session forever.
        if (session is null || session.LastSeenAt + idleLimit <= now || session.CreatedAt + maxAge <= now) return false;
        if (now - session.LastSeenAt >= TouchInterval)
        {
            await states.TryUpdateOnceAsync(ownerId, s => s.Sessions.Any(x => x.Id == sessionId)
                ? s with { Sessions = s.Sessions.Select(x => x.Id == sessionId ? x with { LastSeenAt = now } : x).ToArray() }
                : null, ct);
        }
        return true;
    }

    public async Task<IReadOnlyList<OwnerSession>> ListAsync(string ownerId, TimeSpan idleLimit, TimeSpan maxAge, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var state = await states.ReadAsync(ownerId, ct);
        return state.Sessions.Where(s => s.LastSeenAt + idleLimit > now && s.CreatedAt + maxAge > now).OrderByDescending(s => s.LastSeenAt).ToArray();
    }

    /// <summary>Ends one session; false when there was none with that id.</summary>
    public Task<bool> EndAsync(string ownerId, string sessionId, CancellationToken ct) =>
        states.UpdateAsync(ownerId, state => state.Sessions.Any(s => s.Id == sessionId)
            ? (state with { Sessions = state.Sessions.Where(s => s.Id != sessionId).ToArray() }, true)
            : (null, false), ct);

    /// <summary>Ends every session but <paramref name="keepSessionId"/> (all when null); returns how many ended.</summary>
    public Task<int> EndAllAsync(string ownerId, string? keepSessionId, CancellationToken ct) =>
        states.UpdateAsync(ownerId, state =>
        {
            var kept = state.Sessions.Where(s => s.Id == keepSessionId).ToArray();
            var ended = state.Sessions.Count - kept.Length;
            return ended == 0 ? (null, 0) : (state with { Sessions = kept }, ended);
        }, ct);

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}
