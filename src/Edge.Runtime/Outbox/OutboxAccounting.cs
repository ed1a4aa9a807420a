using Microsoft.Data.Sqlite;

namespace Edge.Runtime.Outbox;

/// <summary>
/// Messages and bytes waiting, in total (read from any thread: gauges, <see cref="DurableOutbox.Count"/>) and per output
/// (only the writer reads and changes those, inside its rounds).
/// </summary>
internal sealed class OutboxAccounting
{
    private readonly Dictionary<string, long> _bytesByOutput = new(StringComparer.Ordinal);
    private long _bytes;
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long BytesOf(string output) => _bytesByOutput.GetValueOrDefault(output);

    public void Add(string output, long bytes, long count)
    {
        _bytesByOutput[output] = _bytesByOutput.GetValueOrDefault(output) + bytes;
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Add(ref _count, count);
    }

    /// <summary>Replaces the figures with what the file holds (at open, and after a failed transaction).</summary>
    public void Load(SqliteConnection c)
    {
        _bytesByOutput.Clear();
        long count = 0, bytes = 0;
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT output, count(*), coalesce(sum(size),0) FROM messages GROUP BY output";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            _bytesByOutput[r.GetString(0)] = r.GetInt64(2);
            count += r.GetInt64(1);
            bytes += r.GetInt64(2);
        }

        Interlocked.Exchange(ref _count, count);
        Interlocked.Exchange(ref _bytes, bytes);
    }
}
