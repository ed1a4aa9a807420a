using Edge.Hub.Storage;

namespace Edge.Hub.Routing;

/// <summary>The outcome of delivering one stored message to its endpoint.</summary>
internal enum DeliveryResult
{
    Delivered,

    /// <summary>The endpoint cannot take messages now (offline, not connected, not subscribed): keep them, wait for a change.</summary>
    Unavailable,

    /// <summary>Delivery was attempted and not acknowledged in time: deliver the same message again.</summary>
    Retry,
}

/// <summary>
/// A delivery that has been started: the message is on its way to the endpoint (e.g. queued on the module's connection) and
/// <see cref="Outcome"/> completes when the endpoint took it or did not (e.g. the module's PUBACK). The executor starts the
/// next delivery as soon as one is started and awaits the outcomes in order (its delivery window).
/// </summary>
internal readonly struct Delivery
{
    private static readonly Delivery DeliveredNow = new(Task.FromResult(DeliveryResult.Delivered));
    private static readonly Delivery UnavailableNow = new(Task.FromResult(DeliveryResult.Unavailable));
    private static readonly Delivery RetryNow = new(Task.FromResult(DeliveryResult.Retry));

    private Delivery(Task<DeliveryResult> outcome) => Outcome = outcome;

    /// <summary>Completes with the result of the delivery; never faults for an endpoint's refusal (that is a result).</summary>
    public Task<DeliveryResult> Outcome { get; }

    /// <summary>A delivery whose outcome is already known (the endpoint was unavailable, or took it synchronously).</summary>
    public static Delivery Completed(DeliveryResult result) => result switch
    {
        DeliveryResult.Delivered => DeliveredNow,
        DeliveryResult.Unavailable => UnavailableNow,
        _ => RetryNow,
    };

    /// <summary>A delivery on its way; <paramref name="outcome"/> completes with its result.</summary>
    public static Delivery Pending(Task<DeliveryResult> outcome) => new(outcome);
}

/// <summary>An endpoint that routed messages go to (edgeHub: <c>Endpoint</c>): a module input, or <c>$upstream</c>.</summary>
internal interface IEndpoint
{
    /// <summary>Starts delivering <paramref name="message"/>; the returned <see cref="Delivery"/> says when and how it ended.</summary>
    ValueTask<Delivery> StartAsync(StoredMessage message, CancellationToken ct);
}
