using System.Globalization;
using System.Text.Json;
using Edge.Hub;
using Edge.TestSupport;

namespace EndToEnd.Tests.Harness;

/// <summary>A message that reached <c>$upstream</c> and when the collector saw it.</summary>
internal sealed record Arrival(UpstreamMessage Message, DateTimeOffset ReceivedAt, string? Source, long Seq, DateTimeOffset? CreatedAt)
{
    /// <summary>Arrival minus creation (LoadGen <c>createdAt</c>) or capture (<c>capturedAt</c>) time, in ms.</summary>
    public double? LatencyMs => CreatedAt is { } c ? (ReceivedAt - c).TotalMilliseconds : null;
}

/// <summary>
/// Reads everything that reaches <c>$upstream</c> and feeds the <see cref="CountingVerifier"/>: LoadGen envelopes
/// (<c>{source, seq, createdAt}</c> body) under their source, Inference results (<c>cameraId</c>/<c>seq</c>/<c>capturedAt</c>
/// properties) under <c>{module}/{output}/{cameraId}</c>. Latency is arrival time minus the creation/capture time.
/// </summary>
internal sealed class UpstreamCollector : IAsyncDisposable
{
    private readonly List<Arrival> _arrivals = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;

    private UpstreamCollector(EdgeHubSimulator sim, TaskCompletionSource started) =>
        _loop = Task.Run(() => ReadAsync(sim, started, _cts.Token));

    /// <summary>Starts reading; returns once the reader is registered with the hub (nothing after this is missed).</summary>
    public static async Task<UpstreamCollector> StartAsync(EdgeHubSimulator sim, CancellationToken ct)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var collector = new UpstreamCollector(sim, started);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, ct);
        return collector;
    }

    public CountingVerifier Verifier { get; } = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _arrivals.Count;
            }
        }
    }

    public IReadOnlyList<Arrival> Snapshot()
    {
        lock (_gate)
        {
            return [.. _arrivals];
        }
    }

    public IReadOnlyList<Arrival> From(string source) => [.. Snapshot().Where(a => a.Source == source)];

    /// <summary>Latencies (ms) of the arrivals of <paramref name="source"/> (all sources when null).</summary>
    public IReadOnlyList<double> Latencies(string? source = null, DateTimeOffset? createdAfter = null) =>
        [.. Snapshot().Where(a => (source is null || a.Source == source) && a.CreatedAt is { } c && (createdAfter is null || c >= createdAfter))
            .Select(a => a.LatencyMs!.Value)];

    /// <summary>Sequence numbers of <paramref name="source"/> that arrived more than once.</summary>
    public IReadOnlyList<long> DuplicateSeqs(string source) =>
        [.. From(source).GroupBy(a => a.Seq).Where(g => g.Count() > 1).Select(g => g.Key).Order()];

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _cts.Dispose();
    }

    private async Task ReadAsync(EdgeHubSimulator sim, TaskCompletionSource started, CancellationToken ct)
    {
        var stream = sim.ReadUpstreamAsync(ct).GetAsyncEnumerator(ct);
        try
        {
            // The reader registers on the first MoveNextAsync; signal once it is pending.
            var next = stream.MoveNextAsync();
            started.TrySetResult();
            while (await next)
            {
                Add(stream.Current, TimeProvider.System.GetUtcNow());
                next = stream.MoveNextAsync();
            }
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    private void Add(UpstreamMessage m, DateTimeOffset now)
    {
        string? source = null;
        long seq = -1;
        DateTimeOffset? created = null;
        if (m.Properties.TryGetValue("cameraId", out var camera) && long.TryParse(m.Properties.GetValueOrDefault("seq"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s))
        {
            source = $"{m.SourceModuleId}/{m.OutputName}/{camera}";
            seq = s;
            if (DateTimeOffset.TryParse(m.Properties.GetValueOrDefault("capturedAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                created = at;
            }
        }
        else if (m.Properties.TryGetValue("source", out var src) && long.TryParse(m.Properties.GetValueOrDefault("seq"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var q))
        {
            source = src;
            seq = q;
            try
            {
                using var doc = JsonDocument.Parse(m.Body);
                if (doc.RootElement.TryGetProperty("createdAt", out var c) && c.TryGetDateTimeOffset(out var ca))
                {
                    created = ca;
                }
            }
            catch (JsonException)
            {
            }
        }

        if (source is not null)
        {
            Verifier.Add(source, seq);
        }

        lock (_gate)
        {
            _arrivals.Add(new Arrival(m, now, source, seq, created));
        }
    }
}
