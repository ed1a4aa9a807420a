using Edge.Runtime.Outbox;
using Polly;
using Polly.CircuitBreaker;

namespace Edge.Runtime.Client;

/// <summary>
/// What the outbox pump publishes through: QoS 1 on the module's events topic, behind a circuit breaker (an open circuit fails
/// fast while edgeHub refuses). No timeout strategy: the connection closes itself when a PUBACK is not back within
/// <see cref="EdgeHubClientOptions.OperationTimeout"/>.
/// </summary>
internal sealed class OutboxPublisher(EdgeHubConnection connection, Func<ModuleIdentity> identity, TimeProvider time) : IOutboxPublisher
{
    private readonly ResiliencePipeline _pipeline = new ResiliencePipelineBuilder { Name = "edgehub-publish", TimeProvider = time }
        .AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = 0.5,
            MinimumThroughput = 8,
            SamplingDuration = TimeSpan.FromSeconds(10),
            BreakDuration = TimeSpan.FromSeconds(2),
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
        })
        .Build();

    private string? _eventsPrefix;

    public Task WaitConnectedAsync(CancellationToken ct) => connection.WaitConnectedAsync(ct);

    public Task PublishAsync(OutboxRecord record, CancellationToken ct)
    {
        if (!connection.TryGetConnected(out var live))
        {
            return Task.FromException(new EdgeHubConnectException("not connected"));
        }

        var prefix = _eventsPrefix ??= Topics.EventsPrefix(identity());
        var topic = string.Concat(prefix, record.Bag, "/");
        return _pipeline.ExecuteAsync(
            static (s, c) => new ValueTask(s.live.PublishAsync(s.topic, s.record.Body, atLeastOnce: true, c)), (live, topic, record), ct).AsTask();
    }
}
