using Microsoft.Data.Sqlite;

namespace Edge.Hub.Storage;

/// <summary>
/// Checkpoints the hub store's WAL from a second connection (see <see cref="RunAsync"/>), only after a commit marked it dirty.
/// </summary>
internal sealed class WalCheckpointer
{
    private int _dirty;

    public WalCheckpointer(string path, TimeSpan interval, TimeProvider time, CancellationToken ct) =>
        Completion = Task.Run(() => RunAsync(path, interval, time, ct));

    /// <summary>Completes when <c>ct</c> is cancelled and the loop has stopped.</summary>
    public Task Completion { get; }

    /// <summary>A commit appended to the WAL: the next round checkpoints.</summary>
    public void MarkDirty() => Interlocked.Exchange(ref _dirty, 1);

    /// <summary>
    /// Copies the WAL into the database file every <paramref name="interval"/> from a second connection, so the fsyncs of a
    /// checkpoint never hold up a commit (and so a PUBACK). Commits themselves only append to the WAL (synchronous=NORMAL).
    /// </summary>
    private async Task RunAsync(string path, TimeSpan interval, TimeProvider time, CancellationToken ct)
    {
        using var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(interval, time, ct).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _dirty, 0) == 1)
                {
                    try
                    {
                        cmd.ExecuteNonQuery();
                    }
                    catch (SqliteException)
                    {
                        // Busy: the next round (or closing the store) checkpoints; the WAL keeps everything meanwhile.
                        Interlocked.Exchange(ref _dirty, 1);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
