using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Routing;

/// <summary>What reached <c>$upstream</c>: the most recent N messages plus live readers (each a bounded channel that drops its oldest entry when a reader falls behind; counted).</summary>
internal sealed class UpstreamFeed(int history, HubCounters counters, ILogger logger)
{
    private readonly Queue<UpstreamMessage> _recent = new();
    private readonly List<Channel<UpstreamMessage>> _readers = [];
    private readonly Lock _gate = new();

    public void Publish(UpstreamMessage message)
    {
        lock (_gate)
        {
            _recent.Enqueue(message);
            while (_recent.Count > history)
            {
                _recent.Dequeue();
            }

            foreach (var r in _readers)
            {
                if (r.Reader.Count >= ReaderCapacity)
                {
                    counters.Dropped("upstream-reader-overflow");
                    Log.UpstreamReaderOverflow(logger);
                }

                r.Writer.TryWrite(message);
            }
        }
    }

    public const int ReaderCapacity = 100_000;

    public IReadOnlyList<UpstreamMessage> Recent(int count)
    {
        lock (_gate)
        {
            return [.. _recent.Skip(Math.Max(0, _recent.Count - count))];
        }
    }

    /// <summary>
    /// Registers a live reader now (so nothing published after this call is missed, even before enumeration starts) and
    /// returns its messages. The reader is removed when <paramref name="ct"/> is cancelled or the enumeration ends.
    /// </summary>
    public IAsyncEnumerable<UpstreamMessage> ReadAsync(CancellationToken ct)
    {
        var channel = Channel.CreateBounded<UpstreamMessage>(new BoundedChannelOptions(ReaderCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_gate)
        {
            _readers.Add(channel);
        }

        var registration = ct.Register(() => Remove(channel));
        return ReadCoreAsync(channel, registration, ct);
    }

    private void Remove(Channel<UpstreamMessage> channel)
    {
        lock (_gate)
        {
            _readers.Remove(channel);
        }
    }

    private async IAsyncEnumerable<UpstreamMessage> ReadCoreAsync(Channel<UpstreamMessage> channel, CancellationTokenRegistration registration,
        [EnumeratorCancellation] CancellationToken ct)
    {
        try
        {
            while (await channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var m))
                {
                    yield return m;
                }
            }
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            Remove(channel);
        }
    }
}
