namespace Okap.Core.Requests;

/// <summary>Which wire shape a request came in.</summary>
public enum RequestShape
{
    /// <summary><c>POST /okap/request</c>, the Python SDK's shape.</summary>
    Sdk,
    /// <summary><c>POST /okap/authorize</c>, the specification's shape.</summary>
    Spec,
}
