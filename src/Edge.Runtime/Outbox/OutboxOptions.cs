using System.ComponentModel.DataAnnotations;

namespace Edge.Runtime;

/// <summary>What to do when an output's share of the outbox (or the whole outbox) is full.</summary>
public enum OutboxFullPolicy
{
    /// <summary>New messages are refused (<see cref="SendStatus.RejectedFull"/>); queued ones are kept. The default.</summary>
    RejectNew,

    /// <summary>The oldest queued messages of the same output are deleted to make room (frames, telemetry samples).</summary>
    DropOldest,
}

/// <summary>The durable outbox (configuration section <c>Outbox</c>, env <c>Outbox__*</c>). See docs/configuration.md.</summary>
public sealed class OutboxOptions
{
    /// <summary>Total bytes (bodies + property bags) the outbox may hold. Default 256 MiB.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How long an undelivered message is kept before it is dropped as expired. Default 7 days.</summary>
    [TimeSpanRange("00:00:01", "3650.00:00:00")]
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Policy for outputs without their own. Default <see cref="OutboxFullPolicy.RejectNew"/>.</summary>
    public OutboxFullPolicy FullPolicy { get; set; } = OutboxFullPolicy.RejectNew;

    /// <summary>Messages published and not yet acknowledged at once (the duplicate window after a crash). Default 16.</summary>
    [Range(1, 1024)]
    public int InFlight { get; set; } = 16;

    /// <summary>Per-output overrides, keyed by output name.</summary>
    public Dictionary<string, OutboxOutputOptions> Outputs { get; set; } = new(StringComparer.Ordinal);

    internal OutboxFullPolicy PolicyFor(string output) => Outputs.TryGetValue(output, out var o) && o.FullPolicy is { } p ? p : FullPolicy;

    internal long MaxBytesFor(string output) => Outputs.TryGetValue(output, out var o) && o.MaxBytes is { } b ? Math.Min(b, MaxBytes) : MaxBytes;

    internal TimeSpan TtlFor(string output) => Outputs.TryGetValue(output, out var o) && o.Ttl is { } t ? t : DefaultTtl;
}

/// <summary>Overrides for one output (<c>Outbox__Outputs__{output}__*</c>).</summary>
public sealed class OutboxOutputOptions
{
    /// <summary>Full policy for this output; default: <see cref="OutboxOptions.FullPolicy"/>.</summary>
    public OutboxFullPolicy? FullPolicy { get; set; }

    /// <summary>Bytes this output may hold; default: the whole <see cref="OutboxOptions.MaxBytes"/>.</summary>
    [Range(1024, long.MaxValue)]
    public long? MaxBytes { get; set; }

    /// <summary>Per-message TTL for this output; default: <see cref="OutboxOptions.DefaultTtl"/>.</summary>
    [TimeSpanRange("00:00:01", "3650.00:00:00")]
    public TimeSpan? Ttl { get; set; }
}
