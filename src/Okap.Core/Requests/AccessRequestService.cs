using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Okap.Core.Audit;
using Okap.Core.Diagnostics;
using Okap.Core.Notifications;
using Okap.Core.Policies;
using Okap.Core.Tokens;

namespace Okap.Core.Requests;

/// <summary>A stored request and, for the specification shape, the secret poll handle (returned once, never stored).</summary>
public sealed record CreatedRequest(AccessRequest Request, string? PollHandle);

/// <summary>A token handed to its requester: the secret is in <see cref="Token"/> and nowhere else.</summary>
public sealed record IssuedToken(string Token, TokenRecord Record);

/// <summary>An owner's decision on a pending request.</summary>
/// <param name="Approve">True to approve, false to deny.</param>
/// <param name="Grants">What to grant, narrower than asked or equal; null grants what was asked.</param>
/// <param name="DenyReason">Shown to the requester on denial.</param>
public sealed record Decision(bool Approve, IReadOnlyList<Grant>? Grants = null, string? DenyReason = null);

/// <summary>
/// The access-request flow: create (and auto-approve by policy), decide, wait for a decision, and hand the token over once.
/// Waiting watches the shared store, so any server instance can serve the requester while another records the decision.
/// </summary>
public sealed class AccessRequestService(IVaultStores stores, AuditLog audit, VaultEvents events, TimeProvider time, IOptions<VaultOptions> options)
{
    private readonly VaultOptions _options = options.Value;

    /// <summary>
    /// The Python SDK has no poll handle: an app whose held call ran out simply sends the same request again. So an
    /// SDK-shape request identical to an earlier one from the same address (same app, same grants) resumes that
    /// request while it is pending, or picks up its token if the owner approved it within
    /// <see cref="VaultOptions.SdkPickupWindow"/> and it was not yet handed over, instead of asking the person a second time.
    /// </summary>
    public async Task<CreatedRequest> CreateOrResumeAsync(string ownerId, AccessRequestDraft draft, string? clientAddress, CancellationToken ct)
    {
        if (draft.Shape == RequestShape.Sdk)
        {
            var now = time.GetUtcNow();
            var fingerprint = Fingerprint(draft.Requested);
            var recent = await stores.Requests.ListAsync(ownerId, null, 50, null, ct);
            foreach (var earlier in recent.Items)
            {
                if (earlier.Shape != RequestShape.Sdk || earlier.TokenId is not null || clientAddress is null || earlier.ClientAddress != clientAddress
                    || earlier.AppName != draft.AppName || earlier.AppUrl != draft.AppUrl || earlier.RedirectUri != draft.RedirectUri
                    || earlier.Reason != draft.Reason || earlier.CreatedAt < now - _options.PendingRequestLifetime
                    || Fingerprint(earlier.Requested) != fingerprint)
                {
                    continue;
                }
                var status = earlier.EffectiveStatus(now);
                // An approved request is picked up only soon after the decision: a replay of the body from the same
                // address (behind a shared proxy, anyone's) later on finds nothing to take and asks the person anew.
                if (status == RequestStatus.Pending || (status == RequestStatus.Approved && earlier.DecidedBy == "owner"
                    && earlier.DecidedAt is { } decidedAt && now - decidedAt <= _options.SdkPickupWindow && _options.SdkPickupWindow > TimeSpan.Zero))
                {
                    // Listings carry no concurrency stamp; the hand-over needs a fresh read.
                    if (await stores.Requests.GetAsync(ownerId, earlier.Id, ct) is { } current) return new CreatedRequest(current, null);
                }
            }
        }
        return await CreateAsync(ownerId, draft, clientAddress, ct);
    }

    /// <summary>A canonical text of grants, to recognise a repeated request.</summary>
    internal static string Fingerprint(IReadOnlyList<Grant> grants) => string.Join(";", grants.Select(g =>
        $"{g.Provider}|{string.Join(",", g.Models)}|{string.Join(",", g.Capabilities)}|{g.Limits.MonthlySpendMicros}|{g.Limits.DailySpendMicros}|" +
        $"{g.Limits.RequestsPerMinute}|{g.Limits.RequestsPerDay}|{g.Limits.TokensPerRequest}|{g.ExpiresAt?.UtcTicks}"));

    public async Task<CreatedRequest> CreateAsync(string ownerId, AccessRequestDraft draft, string? clientAddress, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var pollHandle = draft.Shape == RequestShape.Spec ? Secrets.NewPollHandle() : null;
        var request = new AccessRequest
        {
            Id = Secrets.NewId("req"),
            OwnerId = ownerId,
            Shape = draft.Shape,
            AppName = draft.AppName,
            AppUrl = draft.AppUrl,
            RedirectUri = draft.RedirectUri,
            Reason = draft.Reason,
            ClientAddress = clientAddress,
            Requested = draft.Requested,
            Status = RequestStatus.Pending,
            CreatedAt = now,
            ExpiresAt = now + _options.PendingRequestLifetime,
            PollHandleHash = pollHandle is null ? null : Secrets.Hash(pollHandle),
        };
        await stores.Requests.CreateAsync(request, ct);
        await audit.AppendAsync(ownerId, AuditEvents.RequestCreated, ct, request.AppName, clientAddress, request.Id,
            detail: string.Join(",", request.Requested.Select(g => g.Provider)), actor: AuditActor.App);

        var stored = await stores.Requests.GetAsync(ownerId, request.Id, ct) ?? request;
        foreach (var policy in await stores.Policies.ListAsync(ownerId, ct))
        {
            var grants = PolicyMatcher.Match(policy, stored, now);
            if (grants is null) continue;
            var approved = stored with
            {
                Status = RequestStatus.Approved,
                Granted = grants.Select(g => GrantRules.WithBoundedExpiry(g, now, _options)).ToArray(),
                DecidedAt = now,
                DecidedBy = "policy:" + policy.Id,
            };
            if (await stores.Requests.TryUpdateAsync(approved, ct))
            {
                await audit.AppendAsync(ownerId, AuditEvents.RequestAutoApproved, ct, request.AppName, clientAddress, request.Id, detail: policy.Name, actor: AuditActor.Policy(policy.Id));
                stored = await stores.Requests.GetAsync(ownerId, request.Id, ct) ?? approved;
            }
            break;
        }
        if (stored.Status == RequestStatus.Pending)
        {
            await events.PublishAsync(new VaultEvent(VaultEventTypes.RequestPending, ownerId, VaultEventTypes.RequestPending + ":" + stored.Id, now,
                new Dictionary<string, string?>
                {
                    ["request_id"] = stored.Id,
                    ["app_name"] = stored.AppName,
                    ["providers"] = string.Join(",", stored.Requested.Select(g => g.Provider)),
                    ["expires_at"] = stored.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                }), ct);
        }
        return new CreatedRequest(stored, pollHandle);
    }

    public async Task<Result<AccessRequest>> DecideAsync(string ownerId, string requestId, Decision decision, CancellationToken ct)
    {
        var request = await stores.Requests.GetAsync(ownerId, requestId, ct);
        if (request is null) return Result<AccessRequest>.NotFound();
        var now = time.GetUtcNow();
        var status = request.EffectiveStatus(now);
        if (status != RequestStatus.Pending) return Result<AccessRequest>.Conflict($"request is {status.ToString().ToLowerInvariant()}, not pending");

        AccessRequest decided;
        if (decision.Approve)
        {
            // A limit or expiry the owner left out keeps what was asked: leaving it out cannot widen the grant.
            var grants = decision.Grants?.Select(g => GrantRules.InheritOmitted(request.Requested.FirstOrDefault(r => r.Provider == g.Provider), g)).ToArray()
                ?? request.Requested;
            if (grants.Count == 0) return Result<AccessRequest>.Invalid("grants", "grant at least one provider, or deny");
            for (var i = 0; i < grants.Count; i++)
            {
                var asked = request.Requested.FirstOrDefault(g => g.Provider == grants[i].Provider);
                if (asked is null) return Result<AccessRequest>.Invalid($"grants[{i}].provider", "this provider was not requested");
                if (grants.Take(i).Any(g => g.Provider == grants[i].Provider)) return Result<AccessRequest>.Invalid($"grants[{i}].provider", "provider named twice");
                if (GrantRules.WiderField(asked, grants[i]) is { } field)
                {
                    return Result<AccessRequest>.Invalid($"grants[{i}].{field}", $"{field} may only be narrowed, never widened beyond the request");
                }
                if (grants[i].ExpiresAt is { } at && at <= now) return Result<AccessRequest>.Invalid($"grants[{i}].expires", "expiry must be in the future");
            }
            decided = request with
            {
                Status = RequestStatus.Approved,
                Granted = grants.Select(g => GrantRules.WithBoundedExpiry(g, now, _options)).ToArray(),
                DecidedAt = now,
                DecidedBy = "owner",
            };
        }
        else
        {
            decided = request with
            {
                Status = RequestStatus.Denied,
                DecidedAt = now,
                DecidedBy = "owner",
                DenyReason = string.IsNullOrWhiteSpace(decision.DenyReason) ? "User declined authorization request" : decision.DenyReason.Trim(),
            };
        }
        if (!await stores.Requests.TryUpdateAsync(decided, ct)) return Result<AccessRequest>.Conflict("request was decided concurrently");
        await audit.AppendAsync(ownerId, decision.Approve ? AuditEvents.RequestApproved : AuditEvents.RequestDenied, ct,
            request.AppName, request.ClientAddress, request.Id, detail: decision.Approve && decision.Grants is not null ? "narrowed" : null);
        return Result<AccessRequest>.Ok(await stores.Requests.GetAsync(ownerId, requestId, ct) ?? decided);
    }

    /// <summary>
    /// Returns the request once it is no longer pending, or as it stands when <paramref name="maxWait"/> ran out.
    /// Re-reads the shared store at a fixed interval, so decisions recorded by any instance are seen.
    /// </summary>
    public async Task<AccessRequest?> WaitForDecisionAsync(string ownerId, string requestId, TimeSpan maxWait, CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + maxWait;
        OkapCoreMetrics.DecisionWaitStarted();
        try
        {
            while (true)
            {
                var request = await stores.Requests.GetAsync(ownerId, requestId, ct);
                var now = time.GetUtcNow();
                if (request is null || request.EffectiveStatus(now) != RequestStatus.Pending || now >= deadline) return request;
                var delay = deadline - now;
                if (delay > _options.DecisionPollInterval) delay = _options.DecisionPollInterval;
                await Task.Delay(delay, time, ct);
            }
        }
        finally
        {
            OkapCoreMetrics.DecisionWaitEnded();
        }
    }

    /// <summary>Finds a specification-shape request by its secret poll handle; null unless the handle matches.</summary>
    public async Task<AccessRequest?> FindForPollAsync(string ownerId, string requestId, string? pollHandle, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(pollHandle)) return null;
        var request = await stores.Requests.GetAsync(ownerId, requestId, ct);
        if (request?.PollHandleHash is null) return null;
        var expected = Encoding.ASCII.GetBytes(request.PollHandleHash);
        var actual = Encoding.ASCII.GetBytes(Secrets.Hash(pollHandle));
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? request : null;
    }

    /// <summary>
    /// Mints the token of an approved request and marks it handed over, at most once across all instances:
    /// the token row is written first and removed again if another caller claimed the request first.
    /// </summary>
    public async Task<IssuedToken?> ClaimTokenAsync(AccessRequest request, CancellationToken ct)
    {
        if (request.Status != RequestStatus.Approved || request.TokenId is not null || request.Granted is null) return null;
        var now = time.GetUtcNow();
        var token = Secrets.NewToken();
        var record = new TokenRecord
        {
            Id = Secrets.NewId("tok"),
            Hash = Secrets.Hash(token),
            OwnerId = request.OwnerId,
            RequestId = request.Id,
            AppName = request.AppName,
            AppUrl = request.AppUrl,
            DisplayPrefix = Secrets.DisplayPrefix(token),
            Grants = request.Granted,
            CreatedAt = now,
            ExpiresAt = request.Granted.Min(g => g.ExpiresAt),
        };
        await stores.Tokens.CreateAsync(record, ct);
        if (!await stores.Requests.TryUpdateAsync(request with { TokenId = record.Id, ClaimedAt = now }, ct))
        {
            await stores.Tokens.DeleteAsync(request.OwnerId, record.Id, ct);
            return null;
        }
        await audit.AppendAsync(request.OwnerId, AuditEvents.TokenIssued, ct, request.AppName, request.ClientAddress, request.Id, record.Id, actor: AuditActor.App);
        return new IssuedToken(token, record);
    }

    public Task<AccessRequest?> GetAsync(string ownerId, string requestId, CancellationToken ct) =>
        stores.Requests.GetAsync(ownerId, requestId, ct);

    public Task<Page<AccessRequest>> ListAsync(string ownerId, RequestStatus? status, int pageSize, string? continuation, CancellationToken ct) =>
        stores.Requests.ListAsync(ownerId, status, Math.Clamp(pageSize, 1, 200), continuation, ct);

    /// <summary>Past and pending requests whose app name or requested provider holds <paramref name="text"/> (any case), newest first.</summary>
    public Task<Page<AccessRequest>> SearchAsync(string ownerId, RequestStatus? status, string text, int pageSize, string? continuation, CancellationToken ct) =>
        stores.Requests.SearchAsync(ownerId, status, text, Math.Clamp(pageSize, 1, 200), continuation, ct);
}
