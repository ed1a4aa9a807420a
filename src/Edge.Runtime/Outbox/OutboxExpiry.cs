using Edge.Runtime.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Outbox;

/// <summary>
/// Purges messages past their time-to-live inside a writer transaction (expired messages never count against a quota). The
/// pump drops the expired records it reads itself; this is the purge that runs when an output is full.
/// </summary>
internal sealed class OutboxExpiry(OutboxAccounting accounting, TimeProvider time, RuntimeMetrics metrics, ILogger logger)
{
    /// <summary>Deletes every expired row; returns how many (rows the pump may hold in memory are then gone).</summary>
    public int Purge(SqliteConnection c, SqliteTransaction tx)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM messages WHERE expires <= $now RETURNING output, size";
        cmd.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeMilliseconds());
        var purged = new Dictionary<string, int>(StringComparer.Ordinal);
        var total = 0;
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                var output = r.GetString(0);
                accounting.Add(output, -r.GetInt64(1), -1);
                purged[output] = purged.GetValueOrDefault(output) + 1;
                total++;
            }
        }

        foreach (var (output, count) in purged)
        {
            metrics.Dropped.Add(count, new KeyValuePair<string, object?>("reason", "expired"), new KeyValuePair<string, object?>("output", output));
            Log.OutboxExpired(logger, count, output);
        }

        return total;
    }
}
