using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Okap.Core;

namespace Okap.Storage.Sqlite;

/// <summary>
/// The database file: opens pooled connections, runs migrations once, serialises writers in-process
/// (SQLite has one writer at a time anyway; queuing here avoids busy-waiting) and maps
/// "cannot reach the database" errors to <see cref="VaultUnavailableException"/>.
/// </summary>
internal sealed partial class SqliteDatabase : IDisposable
{
    private readonly string _connectionString;
    private readonly string? _directory;
    private readonly int _busyTimeoutMs;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly SemaphoreSlim _initGate = new(1, 1);
    private volatile bool _initialized;
    private int _disposed;

    public SqliteDatabase(SqliteStoreOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
        var builder = new SqliteConnectionStringBuilder(options.BuildConnectionString());
        builder.ForeignKeys ??= true;
        _connectionString = builder.ToString();
        _directory = options.DirectoryToCreate();
        _busyTimeoutMs = options.BusyTimeoutMilliseconds;
        _logger = logger ?? NullLogger.Instance;
    }

    internal string ConnectionString => _connectionString;

    public async Task InitializeAsync(CancellationToken ct)
    {
        if (_initialized) return;
        await _initGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_initialized) return;
            try
            {
                if (_directory is not null)
                {
                    OwnerOnlyFiles.CreateDirectory(_directory);
                    var file = new SqliteConnectionStringBuilder(_connectionString).DataSource;
                    if (!string.IsNullOrEmpty(file)) OwnerOnlyFiles.EnsureFile(Path.GetFullPath(file));
                }
                await using var connection = await OpenCoreAsync(ct).ConfigureAwait(false);
                using (var wal = connection.Command("PRAGMA journal_mode = WAL;"))
                {
                    var mode = Convert.ToString(wal.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                    LogJournalMode(_logger, mode ?? "?");
                }
                await _writeGate.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    foreach (var version in Migrations.Apply(connection))
                    {
                        LogMigrationApplied(_logger, version);
                    }
                }
                finally
                {
                    _writeGate.Release();
                }
            }
            catch (SqliteException ex) when (IsUnavailable(ex))
            {
                throw Unavailable(ex);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new VaultUnavailableException("The vault data directory cannot be created or opened.", ex);
            }
            _initialized = true;
        }
        finally
        {
            _initGate.Release();
        }
    }

    /// <summary>Runs a read on its own pooled connection (WAL: readers never wait for the writer).</summary>
    public async Task<T> ReadAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> body, CancellationToken ct)
    {
        await InitializeAsync(ct).ConfigureAwait(false);
        try
        {
            await using var connection = await OpenCoreAsync(ct).ConfigureAwait(false);
            return await body(connection, ct).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>Runs <paramref name="body"/> in one IMMEDIATE transaction, committed when it returns normally.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, CancellationToken, Task<T>> body, CancellationToken ct)
    {
        await InitializeAsync(ct).ConfigureAwait(false);
        await _writeGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await using var connection = await OpenCoreAsync(ct).ConfigureAwait(false);
            await using var tx = connection.BeginTransaction(deferred: false);
            var result = await body(connection, tx, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
            return result;
        }
        catch (SqliteException ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
        catch (SqliteException ex) when ((ex.SqliteErrorCode & 0xFF) == SQLitePCL.raw.SQLITE_CONSTRAINT)
        {
            // The SQLite message names the constraint's columns, never values; still keep ours generic.
            throw new InvalidOperationException("A record with the same key already exists, or a referenced record is missing.", ex);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public Task WriteAsync(Func<SqliteConnection, SqliteTransaction, CancellationToken, Task> body, CancellationToken ct) =>
        WriteAsync<bool>(async (c, tx, t) =>
        {
            await body(c, tx, t).ConfigureAwait(false);
            return true;
        }, ct);

    private async Task<SqliteConnection> OpenCoreAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            using var pragma = connection.Command(string.Concat("PRAGMA busy_timeout = ", _busyTimeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture), ";"));
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Errors meaning "the database cannot be reached right now", as opposed to a bug or bad data.</summary>
    internal static bool IsUnavailable(SqliteException ex) => (ex.SqliteErrorCode & 0xFF) switch
    {
        SQLitePCL.raw.SQLITE_BUSY or
        SQLitePCL.raw.SQLITE_LOCKED or
        SQLitePCL.raw.SQLITE_READONLY or
        SQLitePCL.raw.SQLITE_IOERR or
        SQLitePCL.raw.SQLITE_CORRUPT or
        SQLitePCL.raw.SQLITE_FULL or
        SQLitePCL.raw.SQLITE_CANTOPEN or
        SQLitePCL.raw.SQLITE_PROTOCOL or
        SQLitePCL.raw.SQLITE_NOTADB or
        SQLitePCL.raw.SQLITE_AUTH or
        SQLitePCL.raw.SQLITE_PERM => true,
        _ => false,
    };

    private static VaultUnavailableException Unavailable(SqliteException ex) =>
        new($"The vault database is unavailable (SQLite error {ex.SqliteErrorCode}).", ex);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        using (var connection = new SqliteConnection(_connectionString))
        {
            SqliteConnection.ClearPool(connection);
        }
        _writeGate.Dispose();
        _initGate.Dispose();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Applied SQLite store migration {Version}")]
    private static partial void LogMigrationApplied(ILogger logger, int version);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "SQLite journal mode is {Mode}")]
    private static partial void LogJournalMode(ILogger logger, string mode);
}
