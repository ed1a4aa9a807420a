namespace Edge.Hub.Storage;

/// <summary>A message waiting for one endpoint. <see cref="Input"/> is empty for <c>$upstream</c>.</summary>
internal sealed record StoredMessage(
    long Seq,
    string Target,
    string Input,
    int Priority,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset ExpiresAt,
    string Source,
    string Route,
    byte[] Body,
    IReadOnlyDictionary<string, string> Properties,
    IReadOnlyDictionary<string, string> SystemProperties)
{
    public string Endpoint => HubStore.EndpointName(Target, Input);
}

/// <summary>
/// Told about every committed copy, in commit (seq) order, while no other store operation runs: an endpoint executor that has read
/// its whole queue takes new messages from here instead of reading them back. Passed with each write, so the store holds no
/// reference to its readers.
/// </summary>
internal interface ICommitSink
{
    void Committed(StoredMessage message);
}

/// <summary>Where a routed copy goes: target (<c>$upstream</c> or a module id), input, priority, TTL (seconds, negative = forever).</summary>
internal sealed record EnqueueTarget(string Target, string Input, int Priority, long TimeToLiveSecs, string Route);
