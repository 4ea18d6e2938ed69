namespace Okap.Core.Audit;

/// <summary>Audit event names.</summary>
public static class AuditEvents
{
    public const string RequestCreated = "request.created";
    public const string RequestApproved = "request.approved";
    public const string RequestAutoApproved = "request.auto_approved";
    public const string RequestDenied = "request.denied";
    public const string TokenIssued = "token.issued";
    public const string TokenRevoked = "token.revoked";
    public const string TokenNarrowed = "token.narrowed";
    public const string TokenUsed = "token.used";
    public const string TokenRefused = "token.refused";
    public const string KeySet = "key.set";
    public const string KeyRemoved = "key.removed";
    public const string PolicyCreated = "policy.created";
    public const string PolicyUpdated = "policy.updated";
    public const string PolicyRemoved = "policy.removed";
    public const string AccessKeyCreated = "access_key.created";
    public const string AccessKeyRevoked = "access_key.revoked";
    public const string PriceSet = "price.set";
    public const string PriceRemoved = "price.removed";
    public const string SignIn = "account.sign_in";
    public const string SignInFailed = "account.sign_in_failed";
    public const string AccountCreated = "account.created";
    public const string PasswordChanged = "account.password_changed";
    public const string SessionEnded = "account.session_ended";
    public const string SignedOutEverywhere = "account.signed_out_everywhere";
    public const string TotpEnabled = "account.totp_enabled";
    public const string TotpDisabled = "account.totp_disabled";
    public const string RecoveryCodesGenerated = "account.recovery_codes_generated";
    public const string PasskeyAdded = "account.passkey_added";
    public const string PasskeyRemoved = "account.passkey_removed";
}
