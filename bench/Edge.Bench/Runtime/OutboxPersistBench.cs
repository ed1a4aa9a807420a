using System.Diagnostics;
using Edge.Runtime.Diagnostics;
using Edge.TestSupport;
using Microsoft.Data.Sqlite;

namespace Edge.Bench.Runtime;

/// <summary>
/// Outbox persist throughput (SendAsync until committed) against raw SQLite inserts of the same rows into the same table with
/// the same pragmas (WAL, synchronous=NORMAL, exclusive locking, 16 MB autocheckpoint).
/// </summary>
internal sealed class OutboxPersistBench : IBenchSuite
{
    public string Name => "outbox";

    public string Description => "outbox persist throughput vs raw SQLite inserts (1 KB, 50 KB; sequential and 16 concurrent producers)";

    public async Task<int> RunAsync(string[] args)
    {
        Console.WriteLine("| payload | producers | raw SQLite (rows/s) | outbox (msg/s) | ratio (target >= 0.5x) |");
        Console.WriteLine("|---|---|---|---|---|");
        // --rounds N counted after one warm-up round (default 3).
        var rounds = PublishBench.Option(args, "--rounds") is { } r ? int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : 3;
        foreach (var (size, count) in new[] { (1024, 20_000), (50 * 1024, 3_000) })
        {
            foreach (var producers in new[] { 1, 16 })
            {
                // Medians of 3 alternating rounds (a shared machine's load swings between runs).
                var raws = new List<double>();
                var outboxes = new List<double>();
                // Round 0 warms both sides up (JIT, tiering) and is not counted.
                for (var round = -1; round < rounds; round++)
                {
                    var rawRate = Raw(size, count, producers == 1 ? 1 : 100);
                    var outboxRate = await OutboxAsync(size, count, producers);
                    if (round >= 0)
                    {
                        raws.Add(rawRate);
                        outboxes.Add(outboxRate);
                    }
                }

                var raw = RuntimeBenchHelpers.Median(raws);
                var outbox = RuntimeBenchHelpers.Median(outboxes);
                Console.WriteLine($"| {size / 1024} KB | {producers} | {raw:N0} ({(producers == 1 ? "1 row/tx" : "100 rows/tx")}) | {outbox:N0} | {RuntimeBenchHelpers.Ratio(outbox, raw)} |");
            }
        }

        return 0;
    }

    private static double Raw(int size, int count, int rowsPerTx)
    {
        using var dir = new TempDirectory("bench-raw");
        using var c = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "raw.db")};Pooling=False");
        c.Open();
        using (var p = c.CreateCommand())
        {
            p.CommandText = "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=4096; CREATE TABLE messages(seq INTEGER PRIMARY KEY, output TEXT NOT NULL, bag TEXT NOT NULL, body BLOB NOT NULL, mid TEXT, size INTEGER NOT NULL, enqueued INTEGER NOT NULL, expires INTEGER NOT NULL);";
            p.ExecuteNonQuery();
        }

        using var insert = c.CreateCommand();
        insert.CommandText = "INSERT INTO messages(output, bag, body, mid, size, enqueued, expires) VALUES ($o, $b, $body, $mid, $size, $enq, $exp)";
        var pO = insert.Parameters.Add("$o", SqliteType.Text);
        var pB = insert.Parameters.Add("$b", SqliteType.Text);
        var pBody = insert.Parameters.Add("$body", SqliteType.Blob);
        var pMid = insert.Parameters.Add("$mid", SqliteType.Text);
        var pSize = insert.Parameters.Add("$size", SqliteType.Integer);
        var pEnq = insert.Parameters.Add("$enq", SqliteType.Integer);
        var pExp = insert.Parameters.Add("$exp", SqliteType.Integer);
        var body = new byte[size];
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < count; i += rowsPerTx)
        {
            using var tx = c.BeginTransaction();
            insert.Transaction = tx;
            for (var j = 0; j < rowsPerTx && i + j < count; j++)
            {
                var mid = Guid.NewGuid().ToString();
                pO.Value = "out";
                pB.Value = $"%24.on=out&%24.mid={mid}";
                pBody.Value = body;
                pMid.Value = mid;
                pSize.Value = size;
                pEnq.Value = 0L;
                pExp.Value = long.MaxValue;
                insert.ExecuteNonQuery();
            }

            tx.Commit();
        }

        return count / sw.Elapsed.TotalSeconds;
    }

    private static async Task<double> OutboxAsync(int size, int count, int producers)
    {
        using var dir = new TempDirectory("bench-outbox");
        using var metrics = new RuntimeMetrics();
        await using var outbox = RuntimeBenchHelpers.CreateOutbox(dir.Path, metrics);
        outbox.EnsureOpen();
        var body = new byte[size];
        var sw = Stopwatch.StartNew();
        var perProducer = count / producers;
        await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < perProducer; i++)
            {
                var mid = Guid.NewGuid().ToString();
                var r = await outbox.EnqueueAsync("out", $"%24.on=out&%24.mid={mid}", body, mid, CancellationToken.None);
                if (!r.IsAccepted)
                {
                    throw new InvalidOperationException(r.Status.ToString());
                }
            }
        })));
        return perProducer * producers / sw.Elapsed.TotalSeconds;
    }
}
