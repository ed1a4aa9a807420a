using Edge.Runtime.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Outbox;

/// <summary>
/// The outbox's size limits (<see cref="OutboxOptions.MaxBytes"/> and per output): makes room for a message inside a writer
/// transaction by purging expired rows, then applying the output's full policy (reject the new message, or drop the output's
/// oldest). Logs each full/room transition once. Only the writer calls it.
/// </summary>
internal sealed class OutboxQuota(OutboxOptions options, OutboxAccounting accounting, OutboxExpiry expiry, RuntimeMetrics metrics, ILogger logger)
{
    private readonly Dictionary<string, long> _droppedUpTo = new(StringComparer.Ordinal); // DropOldest: seq last dropped per output
    private readonly HashSet<string> _fullOutputs = new(StringComparer.Ordinal);

    /// <summary>
    /// True when a message of <paramref name="size"/> bytes fits <paramref name="output"/> (after purging or dropping as the
    /// policy allows); <paramref name="evicted"/> is set when rows were deleted to make room.
    /// </summary>
    public bool MakeRoom(string output, long size, SqliteConnection c, SqliteTransaction tx, SqliteCommand delete, SqliteParameter seqParameter, ref bool evicted)
    {
        var outputMax = options.MaxBytesFor(output);
        bool Fits() => accounting.Bytes + size <= options.MaxBytes && accounting.BytesOf(output) + size <= outputMax;
        if (Fits())
        {
            if (_fullOutputs.Remove(output))
            {
                Log.OutboxRoom(logger, output);
            }

            return true;
        }

        // Expired messages never count against the limit: purge them first (they would be dropped by the pump anyway).
        if (expiry.Purge(c, tx) > 0)
        {
            evicted = true;
        }

        if (Fits())
        {
            return true;
        }

        var policy = options.PolicyFor(output);
        if (_fullOutputs.Add(output))
        {
            Log.OutboxFull(logger, output, accounting.BytesOf(output), policy.ToString());
        }

        if (policy == OutboxFullPolicy.RejectNew || size > outputMax)
        {
            metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "rejected_full"), new KeyValuePair<string, object?>("output", output));
            return false;
        }

        var dropped = 0;
        while (!Fits())
        {
            using var oldest = c.CreateCommand();
            oldest.Transaction = tx;
            // Everything of this output below the last seq dropped for it is gone already: scan on from there (rowid order).
            oldest.CommandText = "SELECT seq, size FROM messages WHERE seq > $after AND output = $o ORDER BY seq LIMIT 64";
            oldest.Parameters.AddWithValue("$after", _droppedUpTo.GetValueOrDefault(output));
            oldest.Parameters.AddWithValue("$o", output);
            var victims = new List<(long Seq, long Size)>();
            using (var r = oldest.ExecuteReader())
            {
                while (r.Read())
                {
                    victims.Add((r.GetInt64(0), r.GetInt64(1)));
                }
            }

            if (victims.Count == 0)
            {
                break;
            }

            foreach (var (seq, victimSize) in victims)
            {
                if (Fits())
                {
                    break;
                }

                seqParameter.Value = seq;
                delete.ExecuteNonQuery();
                _droppedUpTo[output] = seq;
                accounting.Add(output, -victimSize, -1);
                dropped++;
                evicted = true;
            }
        }

        if (dropped > 0)
        {
            metrics.Dropped.Add(dropped, new KeyValuePair<string, object?>("reason", "dropped_oldest"), new KeyValuePair<string, object?>("output", output));
            Log.OutboxDroppedOldest(logger, dropped, output);
        }

        if (Fits())
        {
            return true;
        }

        metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "rejected_full"), new KeyValuePair<string, object?>("output", output));
        return false;
    }

    /// <summary>A transaction rolled back: a drop it made left its rows in place, so the next drop scans from the start.</summary>
    public void ForgetDrops() => _droppedUpTo.Clear();
}
