using System.Globalization;
using Microsoft.Data.Sqlite;
using Okap.Core;
using Okap.Core.Requests;

namespace Okap.Storage.Sqlite;

/// <summary>Access requests; <see cref="AccessRequest.ConcurrencyStamp"/> is the row's integer <c>version</c>.</summary>
internal sealed class SqliteRequestStore(SqliteDatabase db) : IRequestStore
{
    private const string Columns =
        "owner_id, id, shape, app_name, app_url, redirect_uri, reason, client_address, requested, granted, status, " +
        "created_at, expires_at, decided_at, decided_by, deny_reason, poll_handle_hash, token_id, claimed_at, version";

    public Task CreateAsync(AccessRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var insert = c.Command($"""
                INSERT INTO access_requests ({Columns}) VALUES (
                    @owner_id, @id, @shape, @app_name, @app_url, @redirect_uri, @reason, @client_address, @requested, @granted, @status,
                    @created_at, @expires_at, @decided_at, @decided_by, @deny_reason, @poll_handle_hash, @token_id, @claimed_at, 1);
                """, tx);
            Bind(insert, request);
            await insert.ExecuteNonQueryAsync(t);
        }, ct);
    }

    public Task<AccessRequest?> GetAsync(string ownerId, string requestId, CancellationToken ct) =>
        db.ReadAsync<AccessRequest?>(async (c, t) =>
        {
            await using var query = c.Command($"SELECT {Columns} FROM access_requests WHERE owner_id = @o AND id = @id;")
                .With("@o", ownerId).With("@id", requestId);
            await using var reader = await query.ExecuteReaderAsync(t);
            return await reader.ReadAsync(t) ? Map(reader) : null;
        }, ct);

    public Task<Page<AccessRequest>> ListAsync(string ownerId, RequestStatus? status, int pageSize, string? continuationToken, CancellationToken ct)
    {
        Db.CheckPageSize(pageSize);
        var filter = status is null
            ? $"SELECT {Columns} FROM access_requests WHERE owner_id = @o"
            : $"SELECT {Columns} FROM access_requests WHERE owner_id = @o AND status = @s";
        return db.ReadAsync((c, t) => Db.PageAsync(
            c, filter, "created_at",
            command =>
            {
                command.With("@o", ownerId);
                if (status is { } s) command.With("@s", StatusText(s));
            },
            Map,
            r => (r.CreatedAt, r.Id),
            pageSize, continuationToken, t), ct);
    }

    public Task<Page<AccessRequest>> SearchAsync(string ownerId, RequestStatus? status, string text, int pageSize, string? continuationToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(text);
        Db.CheckPageSize(pageSize);
        // The app name, or the provider of any requested grant (stored as a JSON array of camelCase grants).
        var sql = $"SELECT {Columns} FROM access_requests WHERE owner_id = @o" + (status is null ? "" : " AND status = @s")
            + " AND (instr(lower(app_name), @q) > 0 OR EXISTS (SELECT 1 FROM json_each(requested) WHERE instr(lower(json_extract(value, '$.provider')), @q) > 0))";
        return db.ReadAsync((c, t) => Db.PageAsync(
            c, sql, "created_at",
            command =>
            {
                command.With("@o", ownerId).With("@q", text.ToLowerInvariant());
                if (status is { } s) command.With("@s", StatusText(s));
            },
            Map,
            r => (r.CreatedAt, r.Id),
            pageSize, continuationToken, t), ct);
    }

    public Task<bool> TryUpdateAsync(AccessRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!long.TryParse(request.ConcurrencyStamp, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            // No (or a foreign) stamp: the caller never read this row from us, so it cannot win.
            return Task.FromResult(false);
        }
        return db.WriteAsync(async (c, tx, t) =>
        {
            await using var update = c.Command("""
                UPDATE access_requests SET
                    shape = @shape, app_name = @app_name, app_url = @app_url, redirect_uri = @redirect_uri, reason = @reason,
                    client_address = @client_address, requested = @requested, granted = @granted, status = @status,
                    created_at = @created_at, expires_at = @expires_at, decided_at = @decided_at, decided_by = @decided_by,
                    deny_reason = @deny_reason, poll_handle_hash = @poll_handle_hash, token_id = @token_id, claimed_at = @claimed_at,
                    version = version + 1
                WHERE owner_id = @owner_id AND id = @id AND version = @version;
                """, tx);
            Bind(update, request);
            update.With("@version", version);
            return await update.ExecuteNonQueryAsync(t) == 1;
        }, ct);
    }

    private static void Bind(SqliteCommand command, AccessRequest r) => command
        .With("@owner_id", r.OwnerId).With("@id", r.Id).With("@shape", ShapeText(r.Shape)).With("@app_name", r.AppName)
        .With("@app_url", r.AppUrl).With("@redirect_uri", r.RedirectUri).With("@reason", r.Reason).With("@client_address", r.ClientAddress)
        .With("@requested", Db.Grants(r.Requested)).With("@granted", r.Granted is null ? null : Db.Grants(r.Granted))
        .With("@status", StatusText(r.Status)).With("@created_at", Db.Time(r.CreatedAt)).With("@expires_at", Db.Time(r.ExpiresAt))
        .With("@decided_at", Db.Time(r.DecidedAt)).With("@decided_by", r.DecidedBy).With("@deny_reason", r.DenyReason)
        .With("@poll_handle_hash", r.PollHandleHash).With("@token_id", r.TokenId).With("@claimed_at", Db.Time(r.ClaimedAt));

    private static AccessRequest Map(SqliteDataReader r) => new()
    {
        OwnerId = r.GetString(0),
        Id = r.GetString(1),
        Shape = ParseShape(r.GetString(2)),
        AppName = r.GetString(3),
        AppUrl = r.GetNullableString(4),
        RedirectUri = r.GetNullableString(5),
        Reason = r.GetNullableString(6),
        ClientAddress = r.GetNullableString(7),
        Requested = r.ReadGrants(8),
        Granted = r.IsDBNull(9) ? null : r.ReadGrants(9),
        Status = ParseStatus(r.GetString(10)),
        CreatedAt = r.GetTime(11),
        ExpiresAt = r.GetTime(12),
        DecidedAt = r.GetNullableTime(13),
        DecidedBy = r.GetNullableString(14),
        DenyReason = r.GetNullableString(15),
        PollHandleHash = r.GetNullableString(16),
        TokenId = r.GetNullableString(17),
        ClaimedAt = r.GetNullableTime(18),
        ConcurrencyStamp = r.GetInt64(19).ToString(CultureInfo.InvariantCulture),
    };

    private static string StatusText(RequestStatus status) => status switch
    {
        RequestStatus.Pending => "pending",
        RequestStatus.Approved => "approved",
        RequestStatus.Denied => "denied",
        RequestStatus.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static RequestStatus ParseStatus(string text) => text switch
    {
        "pending" => RequestStatus.Pending,
        "approved" => RequestStatus.Approved,
        "denied" => RequestStatus.Denied,
        "expired" => RequestStatus.Expired,
        _ => throw new InvalidDataException("Unknown request status in the database."),
    };

    private static string ShapeText(RequestShape shape) => shape switch
    {
        RequestShape.Sdk => "sdk",
        RequestShape.Spec => "spec",
        _ => throw new ArgumentOutOfRangeException(nameof(shape)),
    };

    private static RequestShape ParseShape(string text) => text switch
    {
        "sdk" => RequestShape.Sdk,
        "spec" => RequestShape.Spec,
        _ => throw new InvalidDataException("Unknown request shape in the database."),
    };
}
