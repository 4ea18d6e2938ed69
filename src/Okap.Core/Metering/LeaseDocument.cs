namespace Okap.Core.Metering;

/// <summary>A grant's lease document as stored, with the version a conditional write must match.</summary>
public sealed record LeaseDocument(string Json, string Version);
