using System.Text.Json.Nodes;
using Edge.Runtime;

namespace Edge.Bench;

/// <summary>An <see cref="IModuleClient"/> that accepts and drops every message: limit loops measure the work, not messaging.</summary>
internal sealed class DiscardingModuleClient : IModuleClient
{
    private long _count;

    /// <summary>Messages accepted so far.</summary>
    public long Count => Interlocked.Read(ref _count);

    public ModuleIdentity Identity { get; } = new("bench", "Inference");

    public ConnectionState State => ConnectionState.Connected;

    public ValueTask<SendResult> SendAsync(string outputName, EdgeMessage message, CancellationToken ct) =>
        ValueTask.FromResult(new SendResult(SendStatus.Accepted, Interlocked.Increment(ref _count)));

    public void SetInputHandler(string inputName, Func<InputMessageArguments, CancellationToken, Task> handler)
    {
    }

    public void SetMethodHandler(string methodName, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>> handler)
    {
    }

    public void SetDesiredPropertiesHandler(Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>> handler)
    {
    }

    public Task ReportPropertiesAsync(JsonObject patch, CancellationToken ct) => Task.CompletedTask;
}
