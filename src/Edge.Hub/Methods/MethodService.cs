using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Hub.IoTHub;
using Edge.Hub.Security;
using Edge.Protocol;
using Edge.Protocol.Mqtt;

namespace Edge.Hub.Methods;

/// <summary>
/// Direct methods beside the router (edgeHub: <c>InvokeMethodHandler</c>): a request from the cloud side goes to the module's
/// connection on <c>$iothub/methods/POST/{name}/?$rid=</c> and waits for the response with the same request id.
/// </summary>
internal sealed class MethodService(SimulatorOptions options, ClientSessions sessions, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(int Status, byte[] Payload)>> _methodCalls = new(StringComparer.OrdinalIgnoreCase);
    private long _methodRid;

    /// <summary>A module answered a method request on <c>$iothub/methods/res/{status}/?$rid=</c>.</summary>
    public void OnResponse(ClientIdentity sender, int status, string rid, byte[] payload)
    {
        if (_methodCalls.TryRemove($"{sender.ClientId}|{rid}", out var call))
        {
            call.TrySetResult((status, payload));
        }
    }

    /// <summary>Invokes a direct method like IoT Hub: 404 (404103) when the module is not connected/subscribed, 504 when it does not answer in time.</summary>
    public async Task<(int Status, JsonNode? Payload)> InvokeAsync(string moduleId, string method, JsonNode? payload, TimeSpan timeout, CancellationToken ct)
    {
        var clientId = $"{options.DeviceId}/{moduleId}";
        var client = sessions.Get(clientId);
        if (client is not { Connected: true, Methods: true })
        {
            throw new MethodInvocationException(404, 404103, $"Timed out waiting for device to connect. Module {moduleId} is not connected or not subscribed to methods.");
        }

        var rid = Interlocked.Increment(ref _methodRid).ToString("x", CultureInfo.InvariantCulture);
        var call = new TaskCompletionSource<(int, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        var key = $"{clientId}|{rid}";
        _methodCalls[key] = call;
        try
        {
            var body = payload is null ? "null"u8.ToArray() : Encoding.UTF8.GetBytes(payload.ToJsonString());
            await sessions.SendAsync(clientId, $"{IoTHubTopics.MethodPrefix}{method}/?$rid={rid}", body, MqttQos.AtLeastOnce, ct)
                .ConfigureAwait(false);
            var (status, response) = await call.Task.WaitAsync(timeout, time, ct).ConfigureAwait(false);
            JsonNode? json = null;
            if (response.Length > 0)
            {
                try
                {
                    json = JsonNode.Parse(response);
                }
                catch (JsonException)
                {
                    json = JsonValue.Create(Encoding.UTF8.GetString(response));
                }
            }

            return (status, json);
        }
        catch (TimeoutException)
        {
            throw new MethodInvocationException(504, 504101, $"Timed out waiting for the response from module {moduleId} for method {method}.");
        }
        finally
        {
            _methodCalls.TryRemove(key, out _);
        }
    }
}
