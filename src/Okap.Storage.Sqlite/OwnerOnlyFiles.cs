namespace Okap.Storage.Sqlite;

/// <summary>
/// The data folder holds every owner's encrypted keys and the Data Protection key ring that decrypts them, so on Unix
/// it is created readable by the vault's user alone (0700, files 0600), whatever the process umask says. Windows
/// folders inherit their ACL from the parent and are left to it.
/// </summary>
internal static class OwnerOnlyFiles
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupAndOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates the folder as 0700, or takes group and other access away from one that exists.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        if (!Directory.Exists(path)) Directory.CreateDirectory(path, FolderMode);
        Restrict(path);
    }

    /// <summary>
    /// Creates the database file as 0600 before SQLite opens it (SQLite gives its -wal and -shm files the database
    /// file's mode), or takes group and other access away from one that exists.
    /// </summary>
    public static void EnsureFile(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        if (!File.Exists(path))
        {
            using var created = new FileStream(path, new FileStreamOptions
            {
                Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode,
            });
        }
        Restrict(path);
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Restrict(string path)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupAndOther) != 0) File.SetUnixFileMode(path, mode & ~GroupAndOther);
    }
}
