using Edge.Runtime.Client;
using Edge.Runtime.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Hosting;

/// <summary>
/// Starts the client after every hosted service has started (so handlers registered in their StartAsync are in place) and
/// stops it first on shutdown. A configuration error is logged once, naming the variable, and stops the host with exit code 78.
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

    public Task StoppingAsync(CancellationToken cancellationToken) => client.StopAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
