using Edge.Runtime.Client;
using Edge.Runtime.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Hosting;

/// <summary>
/// Starts the client after every hosted service has started (so handlers registered in their StartAsync are in place) and
/// stops it last on shutdown: registered by <c>AddEdgeModule</c> before the module's own services, it is stopped after them
/// (the host stops services in reverse order), so what they sent while stopping is in the outbox, and the client's stop
/// publishes it (bounded by <c>EdgeHub__ShutdownFlush</c>) before disconnecting. A configuration error is logged once,
/// naming the variable, and stops the host with exit code 78.
/// </summary>
internal sealed class ModuleClientHostedService(ModuleClient client, IHostApplicationLifetime lifetime, ILogger<ModuleClientHostedService> logger) : IHostedLifecycleService
{
    /// <summary>Exit code for a configuration error (EX_CONFIG).</summary>
    public const int ConfigurationExitCode = 78;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await client.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (EdgeConfigurationException ex)
        {
            Log.InvalidConfiguration(logger, ex.Message);
            Environment.ExitCode = ConfigurationExitCode;
            lifetime.StopApplication();
        }
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => client.StopAsync(cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
