using System.Threading.Channels;

namespace CameraCapture;

/// <summary>
/// The send loop: numbers each queued frame (a sequence persisted per camera), builds its message and hands it to the
/// module's outbox; counts what was accepted, refused or failed, and logs the first refusal or failure of a run of them.
/// </summary>
internal sealed class FrameSender(string cameraId, PipelineContext context, SequenceStore sequence, FrameMessage messages, CameraCounters counters, ChannelReader<CapturedFrame> input)
{
    private readonly KeyValuePair<string, object?> _tag = new("camera", cameraId);
    private long _lastSeq;
    private long _handled;
    private bool _sendFailing;

    /// <summary>The sequence number of the last frame accepted by the outbox (0 before the first).</summary>
    public long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>Frames taken from the queue and sent, refused or failed.</summary>
    public long Handled => Interlocked.Read(ref _handled);

    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var item in input.ReadAllAsync(ct).ConfigureAwait(false))
            {
                var seq = sequence.Next();
                var messageId = Guid.CreateVersion7(item.CapturedAt).ToString();
                try
                {
                    var (message, bytes) = await messages.BuildAsync(item, seq, messageId, ct).ConfigureAwait(false);
                    var result = await context.SendFrame(message, ct).ConfigureAwait(false);
                    if (result.IsAccepted)
                    {
                        counters.OnSent(bytes);
                        context.Metrics.FramesSent.Add(1, _tag);
                        context.Metrics.FrameBytes.Record(bytes, _tag);
                        Interlocked.Exchange(ref _lastSeq, seq);
                        _sendFailing = false;
                    }
                    else
                    {
                        counters.OnRejected();
                        context.Metrics.FramesDropped.Add(1, _tag, new("reason", "rejected"));
                        if (!_sendFailing)
                        {
                            _sendFailing = true;
                            Log.SendRejected(context.Logger, cameraId, seq, messageId, result.Status);
                        }
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    counters.OnSendError();
                    context.Metrics.FramesDropped.Add(1, _tag, new("reason", "error"));
                    if (!_sendFailing)
                    {
                        _sendFailing = true;
                        Log.SendFailed(context.Logger, cameraId, seq, messageId, ex);
                    }
                }
                finally
                {
                    Interlocked.Increment(ref _handled);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
