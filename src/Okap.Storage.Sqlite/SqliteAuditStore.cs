using System.Text;
using Microsoft.Data.Sqlite;
using Okap.Core;
using Okap.Core.Audit;

namespace Okap.Storage.Sqlite;

/// <summary>Append-only audit trail, listed newest first.</summary>
internal sealed class SqliteAuditStore(SqliteDatabase db) : IAuditStore
{
    private const string Columns = "owner_id, id, at, event, app_name, client_address, request_id, token_id, detail, actor";

    public Task AppendAsync(AuditEvent entry, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var insert = c.Command($"INSERT INTO audit_events ({Columns}) VALUES (@o, @id, @at, @event, @app, @client, @request, @token, @detail, @actor);", tx)
                .With("@o", entry.OwnerId).With("@id", entry.Id).With("@at", Db.Time(entry.At)).With("@event", entry.Event)
                .With("@app", entry.AppName).With("@client", entry.ClientAddress).With("@request", entry.RequestId)
                .With("@token", entry.TokenId).With("@detail", entry.Detail).With("@actor", entry.Actor);
            await insert.ExecuteNonQueryAsync(t);
        }, ct);
    }

    public Task<Page<AuditEvent>> ListAsync(string ownerId, AuditQuery query, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(query);
        Db.CheckPageSize(query.PageSize);
        var sql = new StringBuilder($"SELECT {Columns} FROM audit_events WHERE owner_id = @o");
        if (query.AppName is not null) sql.Append(" AND app_name = @app");
        if (query.Event is not null) sql.Append(" AND event = @event");
        // instr on lower(): a plain substring with no LIKE wildcards to escape (SQLite's lower() folds ASCII letters only).
        if (!string.IsNullOrEmpty(query.Text))
            sql.Append(" AND (instr(lower(event), @q) > 0 OR instr(lower(coalesce(app_name, '')), @q) > 0 OR instr(lower(coalesce(detail, '')), @q) > 0"
                + " OR instr(lower(coalesce(client_address, '')), @q) > 0 OR instr(lower(coalesce(request_id, '')), @q) > 0 OR instr(lower(coalesce(token_id, '')), @q) > 0)");
        return db.ReadAsync((c, t) => Db.PageAsync(
            c, sql.ToString(), "at",
            command =>
            {
                command.With("@o", ownerId);
                if (query.AppName is not null) command.With("@app", query.AppName);
                if (query.Event is not null) command.With("@event", query.Event);
                if (!string.IsNullOrEmpty(query.Text)) command.With("@q", query.Text.ToLowerInvariant());
            },
            Map,
            e => (e.At, e.Id),
            query.PageSize, query.ContinuationToken, t), ct);
    }

    private static AuditEvent Map(SqliteDataReader r) => new()
    {
        OwnerId = r.GetString(0),
        Id = r.GetString(1),
        At = r.GetTime(2),
        Event = r.GetString(3),
        AppName = r.GetNullableString(4),
        ClientAddress = r.GetNullableString(5),
        RequestId = r.GetNullableString(6),
        TokenId = r.GetNullableString(7),
        Detail = r.GetNullableString(8),
        Actor = r.GetNullableString(9),
    };
}
