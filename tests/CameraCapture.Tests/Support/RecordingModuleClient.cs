using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Edge.Runtime;

namespace CameraCapture.Tests;

/// <summary>
/// An in-memory <see cref="IModuleClient"/> for tests of the capture logic without a broker: it records what the module
/// sends and reports, and lets a test invoke the handlers the module registered. (The real client is tested end to end in
/// the frame-through-hub test.)
/// </summary>
internal sealed class RecordingModuleClient : IModuleClient
{
    private readonly ConcurrentDictionary<string, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>>> _methods = new();
    private Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>>? _desired;

    public ModuleIdentity Identity { get; } = new("edge1", "capture");

    public ConnectionState State => ConnectionState.Connected;

    public Channel<(string Output, EdgeMessage Message)> Sent { get; } = Channel.CreateUnbounded<(string, EdgeMessage)>();

    public ConcurrentQueue<JsonObject> Reported { get; } = new();

    /// <summary>Replaces the outbox result (default: accepted).</summary>
    public Func<string, EdgeMessage, CancellationToken, ValueTask<SendResult>>? OnSend { get; set; }

    private long _sequence;

    public async ValueTask<SendResult> SendAsync(string outputName, EdgeMessage message, CancellationToken ct)
    {
        var result = OnSend is null ? new SendResult(SendStatus.Accepted, Interlocked.Increment(ref _sequence)) : await OnSend(outputName, message, ct);
        if (result.IsAccepted)
        {
            await Sent.Writer.WriteAsync((outputName, message), ct);
        }

        return result;
    }

    public void SetInputHandler(string inputName, Func<InputMessageArguments, CancellationToken, Task> handler)
    {
    }

    public void SetMethodHandler(string methodName, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>> handler) =>
        _methods[methodName] = handler;

    public void SetDesiredPropertiesHandler(Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>> handler) =>
        _desired = handler;

    public Task ReportPropertiesAsync(JsonObject patch, CancellationToken ct)
    {
        Reported.Enqueue((JsonObject)patch.DeepClone());
        return Task.CompletedTask;
    }

    public Task<MethodResponse> InvokeAsync(string method, string payload, CancellationToken ct) =>
        _methods.TryGetValue(method, out var h)
            ? h(new MethodRequestArguments(method, System.Text.Encoding.UTF8.GetBytes(payload)), ct)
            : Task.FromResult(MethodResponse.Error(501, "not implemented"));

    public Task<DesiredPropertiesResult> SetDesiredAsync(string json, long version, CancellationToken ct) =>
        _desired!(new DesiredPropertiesArguments(JsonNode.Parse(json)!.AsObject(), version, false), ct);

    /// <summary>Reads the next message sent to <paramref name="output"/>, skipping others, within a real-time timeout.</summary>
    public async Task<EdgeMessage> NextAsync(string output, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var (o, m) = await Sent.Reader.ReadAsync(cts.Token);
            if (o == output)
            {
                return m;
            }
        }
    }

    /// <summary>Everything sent so far to <paramref name="output"/> (drains the channel).</summary>
    public List<EdgeMessage> Drain(string output)
    {
        var list = new List<EdgeMessage>();
        while (Sent.Reader.TryRead(out var item))
        {
            if (item.Output == output)
            {
                list.Add(item.Message);
            }
        }

        return list;
    }
}
