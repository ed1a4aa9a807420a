using Edge.Runtime.Diagnostics;
using Edge.Runtime.Outbox;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Edge.Runtime.Tests;

public sealed class OutboxTests : IDisposable
{
    private readonly TempDirectory _dir = new("runtime-outbox");
    private readonly FakeLogCollector _logs = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RuntimeMetrics _metrics = new();

    public void Dispose()
    {
        _metrics.Dispose();
        _dir.Dispose();
    }

    private DurableOutbox Create(Action<OutboxOptions>? configure = null)
    {
        var o = new OutboxOptions();
        configure?.Invoke(o);
        return new DurableOutbox(Options.Create(o), Options.Create(new EdgeModuleOptions { StateDirectory = _dir.Path }), _time, _metrics, new FakeLogger<DurableOutbox>(_logs));
    }

    private static ValueTask<SendResult> Put(DurableOutbox box, string output, int bytes, string? id = null) =>
        box.EnqueueAsync(output, $"%24.on={output}&%24.mid={id ?? Guid.NewGuid().ToString()}", new byte[bytes], id, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Enqueue_Returned_SurvivesReopen()
    {
        await using (var box = Create())
        {
            for (var i = 0; i < 10; i++)
            {
                (await Put(box, "out", 100, $"m{i}")).Status.ShouldBe(SendStatus.Accepted);
            }
        }

        await using var reopened = Create();
        reopened.EnsureOpen();
        reopened.Count.ShouldBe(10);
        var batch = reopened.ReadBatch(0, 100);
        batch.Select(r => r.MessageId).ShouldBe(Enumerable.Range(0, 10).Select(i => $"m{i}"));
        batch.Select(r => r.Seq).ShouldBeInOrder(SortDirection.Ascending);
    }

    [Fact]
    public async Task Enqueue_Concurrent_GroupCommitsEveryMessage()
    {
        await using var box = Create();
        var tasks = Enumerable.Range(0, 500).Select(i => Put(box, i % 2 == 0 ? "a" : "b", 64).AsTask()).ToArray();
        var results = await Task.WhenAll(tasks);
        results.ShouldAllBe(r => r.Status == SendStatus.Accepted);
        results.Select(r => r.Sequence).Distinct().Count().ShouldBe(500);
        box.Count.ShouldBe(500);
    }

    [Fact]
    public async Task Enqueue_FullRejectNew_RejectsCountsAndLogsOncePerTransition()
    {
        await using var box = Create(o => o.MaxBytes = 10_000);
        var results = new List<SendStatus>();
        for (var i = 0; i < 20; i++)
        {
            results.Add((await Put(box, "out", 1000)).Status);
        }

        results.Count(r => r == SendStatus.Accepted).ShouldBe(9);
        results.Skip(9).ShouldAllBe(r => r == SendStatus.RejectedFull);
        _logs.GetSnapshot().Count(r => r.Id.Id == RuntimeEventIds.OutboxFull).ShouldBe(1);
        box.Bytes.ShouldBeLessThanOrEqualTo(10_000);

        // Room again after deletes: logged once, accepted.
        await box.DeleteAsync(box.ReadBatch(0, 3), TestContext.Current.CancellationToken);
        (await Put(box, "out", 1000)).Status.ShouldBe(SendStatus.Accepted);
        _logs.GetSnapshot().Count(r => r.Id.Id == RuntimeEventIds.OutboxRoom).ShouldBe(1);
    }

    [Fact]
    public async Task Enqueue_FullDropOldest_DropsOldestOfThatOutputOnly()
    {
        await using var box = Create(o =>
        {
            o.MaxBytes = 100_000;
            o.Outputs["frames"] = new OutboxOutputOptions { FullPolicy = OutboxFullPolicy.DropOldest, MaxBytes = 5_000 };
        });
        (await Put(box, "alerts", 1000, "alert-1")).Status.ShouldBe(SendStatus.Accepted);
        for (var i = 0; i < 10; i++)
        {
            (await Put(box, "frames", 1000, $"f{i}")).Status.ShouldBe(SendStatus.Accepted);
        }

        var left = box.ReadBatch(0, 100);
        left.Where(r => r.Output == "frames").Select(r => r.MessageId).ShouldBe(["f6", "f7", "f8", "f9"]);
        left.ShouldContain(r => r.MessageId == "alert-1");
        _logs.GetSnapshot().Count(r => r.Id.Id == RuntimeEventIds.OutboxFull).ShouldBe(1);
    }

    [Fact]
    public async Task Enqueue_FullButExpired_ExpiredPurgedFirst()
    {
        await using var box = Create(o =>
        {
            o.MaxBytes = 5_000;
            o.DefaultTtl = TimeSpan.FromMinutes(1);
        });
        for (var i = 0; i < 4; i++)
        {
            (await Put(box, "out", 1000)).Status.ShouldBe(SendStatus.Accepted);
        }

        _time.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 4; i++)
        {
            (await Put(box, "out", 1000, $"new{i}")).Status.ShouldBe(SendStatus.Accepted);
        }

        box.ReadBatch(0, 100).Select(r => r.MessageId).ShouldBe(["new0", "new1", "new2", "new3"]);
    }

    [Fact]
    public async Task Open_CorruptFile_QuarantinedAndStartsEmpty()
    {
        await File.WriteAllBytesAsync(Path.Combine(_dir.Path, DurableOutbox.FileName), System.Text.Encoding.ASCII.GetBytes(new string('x', 8192)), TestContext.Current.CancellationToken);
        await using var box = Create();
        (await Put(box, "out", 10)).Status.ShouldBe(SendStatus.Accepted);
        box.Count.ShouldBe(1);
        Directory.GetFiles(_dir.Path, "outbox.db.corrupt-*").ShouldNotBeEmpty();
        _logs.GetSnapshot().ShouldContain(r => r.Id.Id == RuntimeEventIds.OutboxQuarantined && r.Level == LogLevel.Error);
    }

    [Fact]
    public async Task Enqueue_FullDropOldestInterleavedOutputs_DropsThatOutputsOldestEachTime()
    {
        await using var box = Create(o =>
        {
            o.MaxBytes = 1_000_000;
            o.Outputs["frames"] = new OutboxOutputOptions { FullPolicy = OutboxFullPolicy.DropOldest, MaxBytes = 3_500 }; // three frames (body + property bag)
        });

        // Interleaved with another output, so the oldest frames are never at the head of the table.
        for (var i = 0; i < 12; i++)
        {
            (await Put(box, "alerts", 500, $"a{i}")).Status.ShouldBe(SendStatus.Accepted);
            (await Put(box, "frames", 1000, $"f{i}")).Status.ShouldBe(SendStatus.Accepted);
            box.ReadBatch(0, 100).Where(r => r.Output == "frames").Select(r => r.MessageId)
                .ShouldBe(Enumerable.Range(Math.Max(0, i - 2), Math.Min(i + 1, 3)).Select(n => $"f{n}"));
        }

        box.ReadBatch(0, 100).Count(r => r.Output == "alerts").ShouldBe(12);

        // A delivered (deleted) frame below the scan point changes nothing; the next drop still takes the oldest left.
        await box.DeleteAsync(box.ReadBatch(0, 100).Where(r => r.MessageId == "f10").ToList(), TestContext.Current.CancellationToken);
        (await Put(box, "frames", 1000, "f12")).Status.ShouldBe(SendStatus.Accepted);
        (await Put(box, "frames", 1000, "f13")).Status.ShouldBe(SendStatus.Accepted);
        box.ReadBatch(0, 100).Where(r => r.Output == "frames").Select(r => r.MessageId).ShouldBe(["f11", "f12", "f13"]);
    }

    [Fact]
    public async Task Open_FileFromEarlierVersion_KeepsRowsAndNeverReusesASequenceNumber()
    {
        // The earlier schema: AUTOINCREMENT and an (output, seq) index; seq 1-7 were used, 5-7 are still waiting.
        var path = Path.Combine(_dir.Path, DurableOutbox.FileName);
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE messages(seq INTEGER PRIMARY KEY AUTOINCREMENT, output TEXT NOT NULL, bag TEXT NOT NULL, body BLOB NOT NULL,
                  mid TEXT, size INTEGER NOT NULL, enqueued INTEGER NOT NULL, expires INTEGER NOT NULL);
                CREATE INDEX messages_output ON messages(output, seq);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 7)
                INSERT INTO messages(output, bag, body, mid, size, enqueued, expires) SELECT 'out', 'b', zeroblob(10), 'old' || i, 10, 0, 9223372036854775807 FROM n;
                DELETE FROM messages WHERE seq <= 4;
                DELETE FROM messages WHERE seq = 7;
                """;
            cmd.ExecuteNonQuery();
        }

        await using (var box = Create())
        {
            box.Count.ShouldBe(0); // opened lazily
            (await Put(box, "out", 10, "new")).Sequence.ShouldBe(8);
            box.ReadBatch(0, 100).Select(r => r.MessageId).ShouldBe(["old5", "old6", "new"]);
            await box.DeleteAsync(box.ReadBatch(0, 100), TestContext.Current.CancellationToken);
        }

        // Empty now: rebuilt in the new shape on the next open (no AUTOINCREMENT, no index), and still works.
        await using (var box = Create())
        {
            (await Put(box, "out", 10, "after")).Status.ShouldBe(SendStatus.Accepted);
        }

        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT group_concat(sql, ';') FROM sqlite_master WHERE tbl_name = 'messages'";
            var schema = (string)cmd.ExecuteScalar()!;
            schema.ShouldNotContain("AUTOINCREMENT");
            schema.ShouldNotContain("messages_output");
            cmd.CommandText = "SELECT mid FROM messages";
            cmd.ExecuteScalar().ShouldBe("after");
        }
    }

    [Fact]
    public async Task Open_FileHeldByAnotherInstance_ClearErrorAndNothingQuarantined()
    {
        await using var first = Create();
        (await Put(first, "out", 10, "kept")).Status.ShouldBe(SendStatus.Accepted);
        await using var second = new DurableOutbox(
            Options.Create(new OutboxOptions()),
            Options.Create(new EdgeModuleOptions { StateDirectory = _dir.Path }),
            TimeProvider.System, _metrics, new FakeLogger<DurableOutbox>(_logs));

        // Microsoft.Data.Sqlite retries a busy database for the command timeout before it gives up.
        var error = await Should.ThrowAsync<EdgeConfigurationException>(() => Task.Run(second.EnsureOpen, TestContext.Current.CancellationToken));
        error.Message.ShouldStartWith("StateDirectory: the outbox ");
        error.Message.ShouldContain("locked by another process");
        Directory.GetFiles(_dir.Path, "outbox.db.corrupt-*").ShouldBeEmpty();
        first.ReadBatch(0, 10).Select(r => r.MessageId).ShouldBe(["kept"]);
    }

    [Fact]
    public async Task Pump_Expired_DroppedNotPublished()
    {
        await using var box = Create(o => o.DefaultTtl = TimeSpan.FromSeconds(10));
        await Put(box, "out", 10, "old");
        _time.Advance(TimeSpan.FromSeconds(11));
        await Put(box, "out", 10, "new");
        var publisher = new RecordingPublisher();
        using var cts = new CancellationTokenSource();
        var pump = Task.Run(() => new OutboxPump(box, publisher, _metrics, new FakeLogger(_logs), _time).RunAsync(cts.Token), TestContext.Current.CancellationToken);
        await TestBroker.WaitUntilAsync(() => box.Count == 0, TimeSpan.FromSeconds(10), "the outbox to drain");
        await cts.CancelAsync();
        await pump;
        publisher.Published.Select(r => r.MessageId).ShouldBe(["new"]);
        _logs.GetSnapshot().ShouldContain(r => r.Id.Id == RuntimeEventIds.OutboxExpired);
    }

    [Fact]
    public async Task Pump_PublishFails_ResendsFromFailedInOrder()
    {
        await using var box = Create(o => o.InFlight = 4);
        for (var i = 1; i <= 10; i++)
        {
            await Put(box, "out", 10, $"m{i}");
        }

        var publisher = new RecordingPublisher { FailOnce = "m3" };
        using var cts = new CancellationTokenSource();
        var pump = Task.Run(() => new OutboxPump(box, publisher, _metrics, new FakeLogger(_logs), _time).RunAsync(cts.Token), TestContext.Current.CancellationToken);
        await TestBroker.WaitUntilAsync(
            () =>
            {
                _time.Advance(TimeSpan.FromMilliseconds(50));
                return box.Count == 0;
            },
            TimeSpan.FromSeconds(10),
            "the outbox to drain after the failure");
        await cts.CancelAsync();
        await pump;

        var verifier = new CountingVerifier();
        foreach (var r in publisher.Published)
        {
            verifier.Add("s", long.Parse(r.MessageId![1..], System.Globalization.CultureInfo.InvariantCulture));
        }

        var report = verifier.Report("s");
        report.Passed.ShouldBeTrue(report.ToString());
        report.Duplicates.ShouldBeLessThanOrEqualTo(4);
        publisher.Published.First(r => r.MessageId == "m3").ShouldNotBeNull();
    }

    [Fact]
    public async Task Pump_BacklogThenLiveFromConcurrentProducers_EveryMessageOnceInOrderPerOutput()
    {
        await using var box = Create();
        for (var i = 1; i <= 100; i++)
        {
            await Put(box, i % 2 == 0 ? "a" : "b", 100, $"backlog-{i}");
        }

        var publisher = new RecordingPublisher();
        using var cts = new CancellationTokenSource();
        var pump = Task.Run(() => new OutboxPump(box, publisher, _metrics, new FakeLogger(_logs), _time).RunAsync(cts.Token), TestContext.Current.CancellationToken);
        var producers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                (await Put(box, p % 2 == 0 ? "a" : "b", 100, $"live-{p}-{i}")).Status.ShouldBe(SendStatus.Accepted);
                if (i % 50 == 0)
                {
                    await Task.Yield();
                }
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(producers);
        await TestBroker.WaitUntilAsync(() => box.Count == 0, TimeSpan.FromSeconds(20), "the outbox to drain");
        await cts.CancelAsync();
        await pump;

        var published = publisher.Published;
        published.Count.ShouldBe(1300);
        published.Select(r => r.Seq).Distinct().Count().ShouldBe(1300);
        published.Select(r => r.Seq).ShouldBeInOrder(SortDirection.Ascending);
        published.Take(100).Select(r => r.MessageId).ShouldBe(Enumerable.Range(1, 100).Select(i => $"backlog-{i}"));
        foreach (var p in Enumerable.Range(0, 4))
        {
            published.Where(r => r.MessageId!.StartsWith($"live-{p}-", StringComparison.Ordinal)).Select(r => r.MessageId).ShouldBe(Enumerable.Range(0, 300).Select(i => $"live-{p}-{i}"));
        }
    }

    [Fact]
    public async Task Pump_StalledPastTheInMemoryLimit_FallsBackToSqliteWithoutLossOrReorder()
    {
        await using var box = Create();
        var publisher = new RecordingPublisher { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var cts = new CancellationTokenSource();
        var pump = Task.Run(() => new OutboxPump(box, publisher, _metrics, new FakeLogger(_logs), _time).RunAsync(cts.Token), TestContext.Current.CancellationToken);

        // The pump is caught up (empty outbox), takes the first window and stalls on it; 17,000 more overflow the hand-over
        // (16,384 records).
        const int N = 17_000;
        for (var i = 1; i <= N; i++)
        {
            (await Put(box, "out", 10, $"m{i}")).Status.ShouldBe(SendStatus.Accepted);
        }

        publisher.Gate.TrySetResult();
        await TestBroker.WaitUntilAsync(() => box.Count == 0, TimeSpan.FromSeconds(20), "the outbox to drain");
        await cts.CancelAsync();
        await pump;
        publisher.Published.Select(r => r.MessageId).ShouldBe(Enumerable.Range(1, N).Select(i => $"m{i}"));
    }

    [Fact]
    public async Task Pump_DropOldestWhileLive_PublishesSurvivorsInOrder()
    {
        await using var box = Create(o =>
        {
            o.MaxBytes = 1_000_000;
            o.Outputs["frames"] = new OutboxOutputOptions { FullPolicy = OutboxFullPolicy.DropOldest, MaxBytes = 20_000 };
        });
        var publisher = new RecordingPublisher { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        using var cts = new CancellationTokenSource();
        var pump = Task.Run(() => new OutboxPump(box, publisher, _metrics, new FakeLogger(_logs), _time).RunAsync(cts.Token), TestContext.Current.CancellationToken);
        for (var i = 1; i <= 200; i++)
        {
            (await Put(box, "frames", 1000, $"f{i}")).Status.ShouldBe(SendStatus.Accepted);
        }

        publisher.Gate.TrySetResult();
        await TestBroker.WaitUntilAsync(() => box.Count == 0, TimeSpan.FromSeconds(20), "the outbox to drain");
        await cts.CancelAsync();
        await pump;

        // Evicted messages may have been handed over already (published anyway); what is published is in order, once,
        // and ends with the newest messages that fit.
        var ids = publisher.Published.Select(r => int.Parse(r.MessageId![1..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        ids.ShouldBeInOrder(SortDirection.Ascending);
        ids.Distinct().Count().ShouldBe(ids.Count);
        ids.ShouldContain(200);
        ids.Count.ShouldBeLessThan(200);
        _logs.GetSnapshot().ShouldContain(r => r.Id.Id == RuntimeEventIds.OutboxDroppedOldest);
    }

    [Fact]
    public async Task Pump_DrainingBacklog_AcknowledgedButNotDeletedStaysWithinTheDocumentedCrashBound()
    {
        // What a crash can resend: messages the hub has (published) whose rows are still in the file (delete not committed).
        // The bound is PendingDeletes.Limit + 3 × InFlight, and docs/configuration.md must state that same bound.
        await using var box = Create();
        const int N = 3000;
        for (var i = 1; i <= N; i++)
        {
            (await Put(box, "out", 10, $"m{i}")).Status.ShouldBe(SendStatus.Accepted);
        }

        var inFlight = box.Options.InFlight;
        var bound = PendingDeletes.Limit + (3 * inFlight);
        var worst = 0L;
        var publisher = new RecordingPublisher
        {
            OnPublish = published => worst = Math.Max(worst, published - (N - box.Count)),
        };
        using var cts = new CancellationTokenSource();
        var pump = Task.Run(() => new OutboxPump(box, publisher, _metrics, new FakeLogger(_logs), _time).RunAsync(cts.Token), TestContext.Current.CancellationToken);
        await TestBroker.WaitUntilAsync(() => box.Count == 0, TimeSpan.FromSeconds(20), "the outbox to drain");
        await cts.CancelAsync();
        await pump;

        publisher.Published.Count.ShouldBe(N);
        worst.ShouldBeGreaterThan(inFlight, "the pump batches deletes: some published messages wait for their delete");
        worst.ShouldBeLessThanOrEqualTo(bound);
        var doc = await File.ReadAllTextAsync(Path.Combine(Assets.RepoRoot, "docs", "configuration.md"), TestContext.Current.CancellationToken);
        doc.ShouldContain($"`{PendingDeletes.Limit} + 3 × InFlight`");
        doc.ShouldContain($"{PendingDeletes.Limit + (3 * new OutboxOptions().InFlight)} with the defaults");
    }

    private sealed class RecordingPublisher : IOutboxPublisher
    {
        private readonly List<OutboxRecord> _published = [];
        private bool _failed;

        public string? FailOnce { get; init; }

        public TaskCompletionSource? Gate { get; init; }

        /// <summary>Called on each publish with how many were published before it.</summary>
        public Action<long>? OnPublish { get; init; }

        public List<OutboxRecord> Published
        {
            get
            {
                lock (_published)
                {
                    return [.. _published];
                }
            }
        }

        public Task WaitConnectedAsync(CancellationToken ct) => Task.CompletedTask;

        public Task PublishAsync(OutboxRecord record, CancellationToken ct)
        {
            if (Gate is { Task.IsCompleted: false } gate)
            {
                return PublishAfterGateAsync(gate.Task, record, ct);
            }

            if (record.MessageId == FailOnce && !_failed)
            {
                _failed = true;
                return Task.FromException(new InvalidOperationException("link down"));
            }

            lock (_published)
            {
                OnPublish?.Invoke(_published.Count);
                _published.Add(record);
            }

            return Task.CompletedTask;
        }

        // Recorded when called (the order a connection sends in); acknowledged once the gate opens.
        private async Task PublishAfterGateAsync(Task gate, OutboxRecord record, CancellationToken ct)
        {
            lock (_published)
            {
                _published.Add(record);
            }

            await gate.WaitAsync(ct);
        }
    }
}
