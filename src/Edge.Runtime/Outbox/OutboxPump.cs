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
/// reordered once duplicates are collapsed. Reads are batched (refill when half the window is free) and deletes are pipelined
/// (one delete transaction outstanding while the next window is published).
/// </summary>
internal sealed class OutboxPump(DurableOutbox outbox, IOutboxPublisher publisher, RuntimeMetrics metrics, ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);

    public async Task RunAsync(CancellationToken stop)
    {
        var window = outbox.Options.InFlight;
        var refillAt = Math.Max(0, window / 2);
        var inflight = new Queue<(OutboxRecord Record, Task Publish)>(window);
        var acked = new List<OutboxRecord>(window);
        Task pendingDelete = Task.CompletedTask;
        long cursor = 0;
        var drained = false;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await publisher.WaitConnectedAsync(stop).ConfigureAwait(false);
                if (inflight.Count <= refillAt || (drained && inflight.Count < window))
                {
                    var batch = outbox.ReadBatch(cursor, window - inflight.Count);
                    drained = batch.Count < window - inflight.Count;
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

                        inflight.Enqueue((r, publisher.PublishAsync(r, stop)));
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

                if (inflight.Count == 0)
                {
                    await FlushAckedAsync().ConfigureAwait(false);
                    await outbox.WaitForDataAsync(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
                    drained = false;
                    continue;
                }

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
                    drained = false;
                    await FlushAckedAsync().ConfigureAwait(false);

                    // Pace resends (an open circuit fails fast); reconnects are paced by the connect pipeline.
                    await Task.Delay(RetryPause, time, stop).ConfigureAwait(false);
                    continue;
                }

                if (acked.Count >= window)
                {
                    await FlushAckedAsync().ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }

        // Delete what was acknowledged before stopping so it is not resent.
        await pendingDelete.ConfigureAwait(false);
        if (acked.Count > 0)
        {
            await outbox.DeleteAsync(acked.ToArray(), CancellationToken.None).ConfigureAwait(false);
        }

        async Task FlushAckedAsync()
        {
            // At most one delete transaction outstanding: wait for the previous, start this one without waiting.
            await pendingDelete.ConfigureAwait(false);
            pendingDelete = acked.Count == 0 ? Task.CompletedTask : outbox.DeleteAsync(acked.ToArray(), CancellationToken.None);
            acked.Clear();
        }
    }
}
