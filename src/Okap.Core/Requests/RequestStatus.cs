namespace Okap.Core.Requests;

/// <summary>Where an access request stands.</summary>
public enum RequestStatus
{
    Pending,
    Approved,
    Denied,
    Expired,
}
