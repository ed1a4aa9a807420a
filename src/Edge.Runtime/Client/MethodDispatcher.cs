using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Edge.Runtime.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Client;

/// <summary>
/// Direct methods: runs the named method's handler and publishes its response (status and JSON payload); an unknown method is
/// answered 501 with the list of implemented ones, a handler that throws 500.
/// </summary>
internal sealed class MethodDispatcher(EdgeHubConnection connection, Func<string> moduleId, ILogger logger)
{
    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly ConcurrentDictionary<string, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>>> _handlers = new(StringComparer.Ordinal);

    public void SetHandler(string methodName, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>> handler) => _handlers[methodName] = handler;

    public async Task InvokeAsync(string name, string rid, ReadOnlyMemory<byte> payload, CancellationToken stop)
    {
        MethodResponse response;
        if (!_handlers.TryGetValue(name, out var handler))
        {
            Log.MethodUnknown(logger, name);
            response = MethodResponse.Error(501, $"Method '{name}' is not implemented by module '{moduleId()}'. Implemented: [{string.Join(", ", _handlers.Keys.Order(StringComparer.Ordinal))}]");
        }
        else
        {
            try
            {
                response = await handler(new MethodRequestArguments(name, payload), stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                Log.MethodFailed(logger, ex, name);
                response = MethodResponse.Error(500, $"Method '{name}' failed: {ex.Message}");
            }
        }

        var body = response.Payload is null ? [] : Encoding.UTF8.GetBytes(response.Payload.ToJsonString(RelaxedJson));
        try
        {
            if (!connection.TryGetConnected(out var live))
            {
                throw new TwinException(503, "not connected to edgeHub");
            }

            await live.PublishAsync(Topics.MethodResponse(response.Status, rid), body, atLeastOnce: false, stop).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.TwinFailed(logger, $"method response for {name}: {ex.Message}");
        }
    }
}
