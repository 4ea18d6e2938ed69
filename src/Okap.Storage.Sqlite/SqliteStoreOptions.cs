using Microsoft.Data.Sqlite;

namespace Okap.Storage.Sqlite;

/// <summary>Where the embedded SQLite store keeps its data.</summary>
/// <remarks>
/// Set <see cref="DataDirectory"/> (the database is <c>{DataDirectory}/{FileName}</c> and Data Protection keys go to
/// <c>{DataDirectory}/keys</c>), or set <see cref="ConnectionString"/> to take full control of the database location.
/// </remarks>
public sealed class SqliteStoreOptions
{
    /// <summary>Folder holding the database file (and, unless disabled, the Data Protection key ring). Created when missing.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Database file name inside <see cref="DataDirectory"/>.</summary>
    public string FileName { get; set; } = "okap.db";

    /// <summary>A full Microsoft.Data.Sqlite connection string; when set it wins over <see cref="DataDirectory"/>/<see cref="FileName"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>How long a writer waits for another connection's lock before failing (SQLite <c>busy_timeout</c>).</summary>
    public int BusyTimeoutMilliseconds { get; set; } = 5_000;

    /// <summary>
    /// When true (default), <c>AddOkapSqliteStore</c> persists the Data Protection key ring to <c>{DataDirectory}/keys</c>
    /// unless the host already configured a key repository.
    /// </summary>
    public bool PersistDataProtectionKeys { get; set; } = true;

    /// <summary>The connection string actually used.</summary>
    public string BuildConnectionString()
    {
        if (!string.IsNullOrWhiteSpace(ConnectionString))
        {
            return ConnectionString;
        }
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new InvalidOperationException("SqliteStoreOptions needs a DataDirectory or a ConnectionString.");
        }
        return new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
        }.ToString();
    }

    /// <summary>The database file path when <see cref="DataDirectory"/> is used; null otherwise.</summary>
    public string? DatabasePath =>
        string.IsNullOrWhiteSpace(DataDirectory) ? null : Path.Combine(Path.GetFullPath(DataDirectory), FileName);

    /// <summary>The folder to create before opening, if any.</summary>
    internal string? DirectoryToCreate()
    {
        if (!string.IsNullOrWhiteSpace(ConnectionString))
        {
            var source = new SqliteConnectionStringBuilder(ConnectionString).DataSource;
            if (string.IsNullOrEmpty(source) || source == ":memory:" || source.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
            var mode = new SqliteConnectionStringBuilder(ConnectionString).Mode;
            if (mode == SqliteOpenMode.Memory || mode == SqliteOpenMode.ReadOnly || mode == SqliteOpenMode.ReadWrite)
            {
                return null;
            }
            return Path.GetDirectoryName(Path.GetFullPath(source));
        }
        return string.IsNullOrWhiteSpace(DataDirectory) ? null : Path.GetFullPath(DataDirectory);
    }

    /// <summary>Folder for the Data Protection key ring, or null when it cannot be derived (in-memory database).</summary>
    public string? DataProtectionKeysDirectory
    {
        get
        {
            if (!string.IsNullOrWhiteSpace(DataDirectory))
            {
                return Path.Combine(Path.GetFullPath(DataDirectory), "keys");
            }
            var dir = DirectoryToCreate();
            return dir is null ? null : Path.Combine(dir, "keys");
        }
    }

    /// <summary>Problems with these options, empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            if (string.IsNullOrWhiteSpace(DataDirectory))
            {
                errors.Add("Set DataDirectory (or ConnectionString) for the SQLite store.");
            }
            if (string.IsNullOrWhiteSpace(FileName) || FileName.IndexOfAny(['/', '\\']) >= 0 || FileName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
            {
                errors.Add("FileName must be a plain file name.");
            }
        }
        else
        {
            try
            {
                _ = new SqliteConnectionStringBuilder(ConnectionString);
            }
            catch (ArgumentException)
            {
                // The message could echo the connection string; keep it out.
                errors.Add("ConnectionString is not a valid SQLite connection string.");
            }
        }
        if (BusyTimeoutMilliseconds < 0)
        {
            errors.Add("BusyTimeoutMilliseconds must not be negative.");
        }
        return errors;
    }
}
