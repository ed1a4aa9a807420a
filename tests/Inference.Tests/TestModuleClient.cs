using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Edge.Runtime;

namespace Inference.Tests;

/// <summary>
/// Records what the module does through <see cref="IModuleClient"/> (the runtime's MQTT client is tested in Edge.Runtime.Tests;
/// here the boundary is the contract): handlers registered, messages sent per output, reported patches.
/// </summary>
internal sealed class TestModuleClient : IModuleClient
{
    public ModuleIdentity Identity { get; } = new("device", "inference");

    public ConnectionState State => ConnectionState.Connected;

    public ConcurrentQueue<(string Output, EdgeMessage Message)> Sent { get; } = new();

    public ConcurrentQueue<JsonObject> Reported { get; } = new();

    public Dictionary<string, Func<InputMessageArguments, CancellationToken, Task>> Inputs { get; } = [];

    public Dictionary<string, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>>> Methods { get; } = [];

    public Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>>? Desired { get; private set; }

    public IEnumerable<EdgeMessage> SentTo(string output) => Sent.Where(s => s.Output == output).Select(s => s.Message);

    public ValueTask<SendResult> SendAsync(string outputName, EdgeMessage message, CancellationToken ct)
    {
        Sent.Enqueue((outputName, message));
        return ValueTask.FromResult(new SendResult(SendStatus.Accepted, Sent.Count));
    }

    public void SetInputHandler(string inputName, Func<InputMessageArguments, CancellationToken, Task> handler) => Inputs[inputName] = handler;

    public void SetMethodHandler(string methodName, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>> handler) => Methods[methodName] = handler;

    public void SetDesiredPropertiesHandler(Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>> handler) => Desired = handler;

    public Task ReportPropertiesAsync(JsonObject patch, CancellationToken ct)
    {
        Reported.Enqueue(patch);
        return Task.CompletedTask;
    }
}
