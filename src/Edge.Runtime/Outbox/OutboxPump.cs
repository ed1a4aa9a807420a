using Edge.Runtime.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Outbox;

/// <summary>What the pump publishes through.</summary>
internal interface IOutboxPublisher
{
    Task WaitConnectedAsync(CancellationToken ct);

    /// <summary>Publishes at QoS 1; completes on PUBACK, throws otherwise.</summary>
    Task PublishAsync(OutboxRecord record, CancellationToken ct);
}

/// <summary>
/// Drains the outbox in sequence order with a bounded in-flight window; deletes only after PUBACK. On a failure it rewinds to
/// the first unacknowledged message and resends from there (in order), so duplicates stay within the window and nothing is
/// reordered once duplicates are collapsed. While caught up it takes new records from the writer in memory (no read back);
/// a backlog is read from SQLite. The window is refilled as soon as any publish completes or a record is committed, and acked
/// messages are deleted in the writer's next transaction (coalesced with inserts).
/// </summary>
internal sealed class OutboxPump(DurableOutbox outbox, IOutboxPublisher publisher, RuntimeMetrics metrics, ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);

    public async Task RunAsync(CancellationToken stop)
    {
        var window = outbox.Options.InFlight;
        var inflight = new Queue<(OutboxRecord Record, Task Publish)>(window);
        var acked = new List<OutboxRecord>(window);
        long cursor = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await publisher.WaitConnectedAsync(stop).ConfigureAwait(false);
                if (inflight.Count < window)
                {
                    var batch = outbox.Take(cursor, window - inflight.Count);
                    if (batch.Count > 0)
                    {
                        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
                        List<OutboxRecord>? expired = null;
                        foreach (var r in batch)
                        {
                            cursor = r.Seq;
                            if (r.ExpiresMs <= now)
                            {
                                (expired ??= []).Add(r);
                                continue;
                            }

                            inflight.Enqueue((r, PublishAndSignal(r, stop)));
                        }

                        if (expired is not null)
                        {
                            await outbox.DeleteAsync(expired, stop).ConfigureAwait(false);
                            foreach (var g in expired.GroupBy(e => e.Output))
                            {
                                metrics.Dropped.Add(g.Count(), new KeyValuePair<string, object?>("reason", "expired"), new KeyValuePair<string, object?>("output", g.Key));
                                Log.OutboxExpired(logger, g.Count(), g.Key);
                            }
                        }
                    }
                }

                if (inflight.Count == 0)
                {
                    await FlushAsync(soon: true).ConfigureAwait(false);
                    await outbox.WaitForDataAsync(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
                    continue;
                }

                // Harvest the completed head of the window (in order); wait for a completion or new data when there is none.
                if (!inflight.Peek().Publish.IsCompleted)
                {
                    await FlushAsync(soon: false).ConfigureAwait(false);
                    await outbox.WaitSignalAsync(stop).ConfigureAwait(false);
                }

                var failed = false;
                while (inflight.Count > 0 && inflight.Peek().Publish.IsCompleted)
                {
                    var (record, publish) = inflight.Dequeue();
                    try
                    {
                        await publish.ConfigureAwait(false);
                        acked.Add(record);
                        metrics.Sent.Add(1);
                        metrics.PublishLatency.Record(Math.Max(0, time.GetUtcNow().ToUnixTimeMilliseconds() - record.EnqueuedMs));
                    }
                    catch (Exception ex) when (!stop.IsCancellationRequested)
                    {
                        Log.PublishFailed(logger, record.Seq, record.MessageId, record.Output, ex.Message);

                        // Resend from the failed one: later publishes in the window are discarded even if they succeed.
                        foreach (var (_, t) in inflight)
                        {
                            try
                            {
                                await t.ConfigureAwait(false);
                            }
                            catch (Exception)
                            {
                            }
                        }

                        inflight.Clear();
                        cursor = record.Seq - 1;
                        outbox.LeaveLive();
                        await FlushAsync(soon: true).ConfigureAwait(false);
                        failed = true;
                        break;
                    }
                }

                if (failed)
                {
                    // Pace resends (an open circuit fails fast); reconnects are paced by the connect pipeline.
                    await Task.Delay(RetryPause, time, stop).ConfigureAwait(false);
                    continue;
                }

                if (acked.Count >= window)
                {
                    await FlushAsync(soon: false).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }

        // Delete what was acknowledged before stopping so it is not resent.
        outbox.Acknowledge(acked, soon: true);
        await outbox.FlushAsync(CancellationToken.None).ConfigureAwait(false);

        // Hands the acknowledged messages' deletes to the writer. When PendingDeletes.Limit of them are still not committed (the
        // writer is busy), waits for their commit before publishing more: what a crash can resend stays within
        // PendingDeletes.Limit + 3 × InFlight (in flight, acknowledged here, and the deletes handed over; docs/configuration.md).
        async ValueTask FlushAsync(bool soon)
        {
            var overLimit = outbox.Acknowledge(acked, soon);
            acked.Clear();
            if (overLimit)
            {
                await outbox.FlushAsync(stop).ConfigureAwait(false);
            }
        }
    }

    private Task PublishAndSignal(OutboxRecord record, CancellationToken stop)
    {
        Task publish;
        try
        {
            publish = publisher.PublishAsync(record, stop);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            publish = Task.FromException(ex);
        }

        // Once the publish completed, resume the pump on the thread that completed it (no hop through the thread pool).
        _ = publish.ContinueWith(static (_, s) => ((DurableOutbox)s!).Signal(inline: true), outbox, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return publish;
    }
}
