using Microsoft.Data.Sqlite;

namespace Okap.Storage.Sqlite;

/// <summary>Numbered schema migrations, applied in order inside one write transaction and recorded in <c>schema_version</c>.</summary>
internal static class Migrations
{
    /// <summary>Append only: never edit a migration that has shipped.</summary>
    public static readonly IReadOnlyList<(int Version, string Name, string Sql)> All =
    [
        (1, "initial schema", """
            CREATE TABLE owners (
                id              TEXT NOT NULL PRIMARY KEY,
                slug            TEXT NOT NULL COLLATE NOCASE UNIQUE,
                display_name    TEXT NOT NULL,
                created_at      TEXT NOT NULL
            ) WITHOUT ROWID;

            CREATE TABLE local_accounts (
                user_name       TEXT NOT NULL PRIMARY KEY,
                owner_id        TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
                password_hash   TEXT NOT NULL,
                failed_attempts INTEGER NOT NULL DEFAULT 0,
                locked_until    TEXT NULL
            ) WITHOUT ROWID;
            CREATE INDEX ix_local_accounts_owner ON local_accounts(owner_id);

            CREATE TABLE external_logins (
                issuer          TEXT NOT NULL,
                subject         TEXT NOT NULL,
                owner_id        TEXT NOT NULL REFERENCES owners(id) ON DELETE CASCADE,
                PRIMARY KEY (issuer, subject)
            ) WITHOUT ROWID;
            CREATE INDEX ix_external_logins_owner ON external_logins(owner_id);

            CREATE TABLE access_requests (
                owner_id        TEXT NOT NULL,
                id              TEXT NOT NULL,
                shape           TEXT NOT NULL,
                app_name        TEXT NOT NULL,
                app_url         TEXT NULL,
                redirect_uri    TEXT NULL,
                reason          TEXT NULL,
                client_address  TEXT NULL,
                requested       TEXT NOT NULL,
                granted         TEXT NULL,
                status          TEXT NOT NULL,
                created_at      TEXT NOT NULL,
                expires_at      TEXT NOT NULL,
                decided_at      TEXT NULL,
                decided_by      TEXT NULL,
                deny_reason     TEXT NULL,
                poll_handle_hash TEXT NULL,
                token_id        TEXT NULL,
                claimed_at      TEXT NULL,
                version         INTEGER NOT NULL,
                PRIMARY KEY (owner_id, id)
            ) WITHOUT ROWID;
            CREATE INDEX ix_access_requests_created ON access_requests(owner_id, created_at DESC, id DESC);
            CREATE INDEX ix_access_requests_status ON access_requests(owner_id, status, created_at DESC, id DESC);

            CREATE TABLE tokens (
                hash            TEXT NOT NULL PRIMARY KEY,
                id              TEXT NOT NULL,
                owner_id        TEXT NOT NULL,
                request_id      TEXT NULL,
                app_name        TEXT NOT NULL,
                app_url         TEXT NULL,
                display_prefix  TEXT NOT NULL,
                grants          TEXT NOT NULL,
                created_at      TEXT NOT NULL,
                expires_at      TEXT NULL,
                revoked_at      TEXT NULL,
                last_used_at    TEXT NULL
            ) WITHOUT ROWID;
            CREATE UNIQUE INDEX ux_tokens_owner_id ON tokens(owner_id, id);
            CREATE INDEX ix_tokens_created ON tokens(owner_id, created_at DESC, id DESC);

            CREATE TABLE master_keys (
                owner_id        TEXT NOT NULL,
                provider        TEXT NOT NULL,
                label           TEXT NULL,
                last4           TEXT NOT NULL,
                base_url        TEXT NULL,
                auth_kind       TEXT NOT NULL,
                created_at      TEXT NOT NULL,
                updated_at      TEXT NOT NULL,
                PRIMARY KEY (owner_id, provider)
            ) WITHOUT ROWID;

            CREATE TABLE master_key_secrets (
                owner_id        TEXT NOT NULL,
                provider        TEXT NOT NULL,
                ciphertext      TEXT NOT NULL,
                updated_at      TEXT NOT NULL,
                PRIMARY KEY (owner_id, provider)
            ) WITHOUT ROWID;

            CREATE TABLE policies (
                owner_id        TEXT NOT NULL,
                id              TEXT NOT NULL,
                name            TEXT NOT NULL,
                app_name        TEXT NULL,
                providers       TEXT NOT NULL,
                models          TEXT NOT NULL,
                capabilities    TEXT NOT NULL,
                max_limits      TEXT NOT NULL,
                max_days        INTEGER NULL,
                enabled         INTEGER NOT NULL,
                created_at      TEXT NOT NULL,
                PRIMARY KEY (owner_id, id)
            ) WITHOUT ROWID;

            CREATE TABLE access_keys (
                hash            TEXT NOT NULL PRIMARY KEY,
                id              TEXT NOT NULL,
                owner_id        TEXT NOT NULL,
                name            TEXT NOT NULL,
                display_prefix  TEXT NOT NULL,
                created_at      TEXT NOT NULL,
                expires_at      TEXT NULL,
                revoked_at      TEXT NULL
            ) WITHOUT ROWID;
            CREATE UNIQUE INDEX ux_access_keys_owner_id ON access_keys(owner_id, id);

            CREATE TABLE usage_counters (
                owner_id        TEXT NOT NULL,
                grant_key       TEXT NOT NULL,
                period          TEXT NOT NULL,
                requests        INTEGER NOT NULL,
                input_tokens    INTEGER NOT NULL,
                output_tokens   INTEGER NOT NULL,
                cost_micros     INTEGER NOT NULL,
                PRIMARY KEY (owner_id, grant_key, period)
            ) WITHOUT ROWID;
            CREATE INDEX ix_usage_counters_period ON usage_counters(owner_id, period);

            CREATE TABLE audit_events (
                owner_id        TEXT NOT NULL,
                id              TEXT NOT NULL,
                at              TEXT NOT NULL,
                event           TEXT NOT NULL,
                app_name        TEXT NULL,
                client_address  TEXT NULL,
                request_id      TEXT NULL,
                token_id        TEXT NULL,
                detail          TEXT NULL,
                PRIMARY KEY (owner_id, id)
            ) WITHOUT ROWID;
            CREATE INDEX ix_audit_events_at ON audit_events(owner_id, at DESC, id DESC);
            CREATE INDEX ix_audit_events_event ON audit_events(owner_id, event, at DESC, id DESC);
            CREATE INDEX ix_audit_events_app ON audit_events(owner_id, app_name, at DESC, id DESC);
            """),
        (2, "owner price overrides", """
            CREATE TABLE price_overrides (
                owner_id            TEXT NOT NULL,
                provider            TEXT NOT NULL,
                model               TEXT NOT NULL,
                input_micros        INTEGER NOT NULL,
                cached_input_micros INTEGER NULL,
                output_micros       INTEGER NOT NULL,
                max_output_tokens   INTEGER NULL,
                updated_at          TEXT NOT NULL,
                PRIMARY KEY (owner_id, provider, model)
            ) WITHOUT ROWID;
            """),
        (3, "budget leases and exactly-once usage batches", """
            -- One lease document per grant, replaced only when its version still matches (compare-and-swap).
            CREATE TABLE budget_leases (
                owner_id        TEXT NOT NULL,
                grant_key       TEXT NOT NULL,
                state           TEXT NOT NULL,
                version         INTEGER NOT NULL,
                PRIMARY KEY (owner_id, grant_key)
            ) WITHOUT ROWID;

            -- The highest usage batch committed per writing process, updated in the batch's own transaction.
            CREATE TABLE usage_writers (
                writer_id       TEXT NOT NULL PRIMARY KEY,
                seq             INTEGER NOT NULL,
                updated_at      TEXT NOT NULL
            ) WITHOUT ROWID;
            """),
        (4, "access key scopes and last use, audit actor", """
            -- NULL scopes: a key from before scopes, which keeps what it could do (AccessKeyScopes.Legacy).
            ALTER TABLE access_keys ADD COLUMN scopes TEXT NULL;
            ALTER TABLE access_keys ADD COLUMN last_used_at TEXT NULL;
            ALTER TABLE audit_events ADD COLUMN actor TEXT NULL;
            """),
        (5, "writer marks swept by age", """
            -- The background sweep deletes the oldest marks first; without this index it would read every row.
            CREATE INDEX ix_usage_writers_updated_at ON usage_writers(updated_at);
            """),
        (6, "server-side sessions, second factors, per-address sign-in throttling", """
            -- One versioned document per owner (sessions, authenticator app, recovery codes, passkeys), changed by compare-and-swap.
            CREATE TABLE owner_sign_in (
                owner_id TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                version INTEGER NOT NULL
            );
            -- Failed sign-ins per address and fixed window; replaces the per-account lockout columns, no longer read.
            CREATE TABLE sign_in_failures (
                address_key TEXT PRIMARY KEY,
                window_start TEXT NOT NULL,
                failures INTEGER NOT NULL
            );
            """),
    ];

    public static int LatestVersion => All[^1].Version;

    /// <summary>Brings the schema up to date; returns the versions applied (empty when already current).</summary>
    public static IReadOnlyList<int> Apply(SqliteConnection connection)
    {
        using (var create = connection.CreateCommand())
        {
            create.CommandText = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);";
            create.ExecuteNonQuery();
        }

        // IMMEDIATE: two processes starting at once serialise here, and the second sees the first's work.
        using var tx = connection.BeginTransaction(deferred: false);
        long current;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version;";
            current = (long)read.ExecuteScalar()!;
        }
        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The vault database has schema version {current}, newer than this build understands ({LatestVersion}).");
        }

        var applied = new List<int>();
        foreach (var (version, name, sql) in All)
        {
            if (version <= current) continue;
            using (var migrate = connection.CreateCommand())
            {
                migrate.Transaction = tx;
                migrate.CommandText = sql;
                migrate.ExecuteNonQuery();
            }
            using (var record = connection.CreateCommand())
            {
                record.Transaction = tx;
                record.CommandText = "INSERT INTO schema_version (version, name, applied_at) VALUES (@v, @n, @at);";
                record.Parameters.AddWithValue("@v", version);
                record.Parameters.AddWithValue("@n", name);
                record.Parameters.AddWithValue("@at", Db.Time(DateTimeOffset.UtcNow));
                record.ExecuteNonQuery();
            }
            applied.Add(version);
        }
        tx.Commit();
        return applied;
    }
}
