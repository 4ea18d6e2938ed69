using System.Xml.Linq;
using Azure;
using Azure.Data.Tables;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Okap.Storage.Azure.DataProtection;

/// <summary>
/// Keeps the ASP.NET Core Data Protection key ring in a table, so every instance of the hosted vault (Functions
/// on Flex Consumption scales out and recycles freely) reads the same keys: sign-in cookies and anti-forgery tokens
/// issued by one instance are accepted by all. Access is guarded by the same RBAC as the vault's tables.
/// </summary>
public sealed class TableXmlRepository(TableClient table) : IXmlRepository
{
    private const string Partition = "keyring";

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        var elements = new List<XElement>();
        foreach (var row in table.Query<TableEntity>(e => e.PartitionKey == Partition))
        {
            if (row.GetString("Xml") is { Length: > 0 } xml) elements.Add(XElement.Parse(xml));
        }
        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        var rowKey = string.IsNullOrEmpty(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName;
        try
        {
            table.AddEntity(new TableEntity(Partition, rowKey) { ["Xml"] = element.ToString(SaveOptions.DisableFormatting) });
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Keys are immutable once written; another instance stored this very key first.
        }
    }
}
