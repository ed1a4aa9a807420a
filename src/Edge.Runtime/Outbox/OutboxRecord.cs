namespace Edge.Runtime.Outbox;

/// <summary>One queued message.</summary>
internal sealed record OutboxRecord(long Seq, string Output, string Bag, byte[] Body, string? MessageId, long EnqueuedMs, long ExpiresMs)
{
    public long Size => Body.Length + Bag.Length;
}
