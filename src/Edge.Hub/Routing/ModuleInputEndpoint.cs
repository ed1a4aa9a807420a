using Edge.Hub.IoTHub;
using Edge.Hub.Storage;
using Edge.Protocol;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Routing;

/// <summary>
/// The inputs of the device's modules (edgeHub: <c>ModuleEndpoint</c>): a message goes to the module's live connection, at least
/// once, and counts as delivered when the module acknowledges it within <see cref="SimulatorOptions.MessageAckTimeout"/>.
/// </summary>
internal sealed class ModuleInputEndpoint(SimulatorOptions options, ClientSessions sessions, TimeProvider time, ILogger logger) : IEndpoint
{
    /// <summary>
    /// Sends one message to a module input; the delivery completes with the outcome of the module's acknowledgement (or is
    /// <see cref="DeliveryResult.Unavailable"/> at once when the module is not connected and subscribed).
    /// </summary>
    public async ValueTask<Delivery> StartAsync(StoredMessage message, CancellationToken ct)
    {
        var client = sessions.Get($"{options.DeviceId}/{message.Target}");
        if (client is null || !client.Connected || !client.ModuleMessages)
        {
            return Delivery.Completed(DeliveryResult.Unavailable);
        }

        var packetId = await sessions.SendInputAsync(client, InputTopic(message), message.Body, ct).ConfigureAwait(false);
        return packetId is null
            ? Delivery.Completed(DeliveryResult.Unavailable)
            : Delivery.Pending(WaitForAckAsync(client.WaitForInputAck(packetId.Value), message, ct));
    }

    /// <summary>The topic a module input receives: application properties then mapped system properties; <c>$.on</c> is not forwarded.</summary>
    internal string InputTopic(StoredMessage m)
    {
        var bag = new List<KeyValuePair<string, string?>>();
        foreach (var (k, v) in m.Properties)
        {
            bag.Add(new(k, v));
        }

        foreach (var (k, v) in m.SystemProperties)
        {
            if (IoTHubTopics.SystemToWire.TryGetValue(k, out var wire))
            {
                bag.Add(new(wire, v));
            }
        }

        return IoTHubTopics.ModuleInput(options.DeviceId, m.Target, m.Input, PropertyBag.Encode(bag));
    }

    private async Task<DeliveryResult> WaitForAckAsync(Task<bool> ack, StoredMessage m, CancellationToken ct)
    {
        try
        {
            var acked = await ack.WaitAsync(options.MessageAckTimeout, time, ct).ConfigureAwait(false);
            return acked ? DeliveryResult.Delivered : DeliveryResult.Unavailable;
        }
        catch (TimeoutException)
        {
            Log.AckTimeout(logger, m.Target, m.Seq, options.MessageAckTimeout);
            return DeliveryResult.Retry;
        }
    }
}
