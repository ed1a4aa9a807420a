using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Supervisor;

/// <summary>
/// The simulator's edgeAgent: runs each module of an <c>$edgeAgent</c> desired document as a local process, honours
/// <c>status</c>, <c>restartPolicy</c> (with exponential back-off) and <c>startupOrder</c>, applies new documents live,
/// and reports edgeAgent-style status including memory. See docs/simulator-supervisor.md.
/// </summary>
public sealed class ModuleSupervisor : IAsyncDisposable
{
    private readonly SupervisorOptions _options;
    private readonly ILogger<ModuleSupervisor> _logger;
    private readonly TimeProvider _time;
    private readonly RunnerContext _context;
    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ModuleRunner> _runners = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposeCts = new();
    private readonly Task _sampler;
    private bool _disposed;
    private int _disposing;

    /// <param name="options">Validated with DataAnnotations; invalid options throw <see cref="ValidationException"/>.</param>
    /// <param name="connectionStringForModule">Module id → its <c>EdgeHubConnectionString</c>; called at every start.</param>
    /// <param name="logger">Supervisor events (EventIds 2800–2899).</param>
    /// <param name="time">Back-off, grace period, timestamps and memory sampling.</param>
    public ModuleSupervisor(SupervisorOptions options, Func<string, string> connectionStringForModule, ILogger<ModuleSupervisor> logger, TimeProvider time)
    {
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        if (options.RestartBackoffMax < options.RestartBackoffBase)
        {
            throw new ValidationException($"{nameof(options.RestartBackoffMax)} ({options.RestartBackoffMax}) must not be below {nameof(options.RestartBackoffBase)} ({options.RestartBackoffBase}).");
        }

        _options = options;
        _logger = logger;
        _time = time;
        Directory.CreateDirectory(options.StateDirectory);
        Launcher = new ModuleLauncher(options.Launchers, options.RepoRoot);
        _context = new RunnerContext(options, Path.GetFullPath(options.StateDirectory), Path.GetFullPath(options.CaCertificatePath), Launcher, connectionStringForModule, logger, time, Publish);
        _sampler = SampleMemoryAsync(_disposeCts.Token);
    }

    /// <summary>Raised on every runtime-status transition of a module (started, exited, back-off, stopped, failed).</summary>
    public event Action<ModuleStatus>? StatusChanged;

    internal ModuleLauncher Launcher { get; }

    /// <summary>
    /// Validates <paramref name="edgeAgentDesired"/> (the <c>$edgeAgent</c> <c>properties.desired</c> object) and makes the
    /// running modules match it: removed modules stop, changed ones are recreated, <c>stopped</c> ones stop, and modules to
    /// start are started in ascending <c>startupOrder</c>, each group after the previous one has started.
    /// </summary>
    /// <exception cref="EdgeAgentValidationException">The document is invalid; nothing was changed.</exception>
    public async Task ApplyAsync(JsonObject edgeAgentDesired, CancellationToken ct)
    {
        var desired = EdgeAgentDesired.Parse(edgeAgentDesired, out var errors);
        if (errors.Count > 0)
        {
            Log.DesiredRejected(_logger, string.Join("; ", errors));
            throw new EdgeAgentValidationException(errors);
        }

        await _applyLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Dictionary<string, ModuleRunner> current;
            lock (_gate)
            {
                current = new(_runners, StringComparer.Ordinal);
            }

            var removed = current.Values.Where(r => !desired.ContainsKey(r.Id)).ToList();
            var changed = current.Values.Where(r => desired.TryGetValue(r.Id, out var d) && d.Fingerprint != r.Definition.Fingerprint).ToList();
            var stopping = current.Values
                .Where(r => desired.TryGetValue(r.Id, out var d) && d.Fingerprint == r.Definition.Fingerprint && r.Definition.DesiredRunning && !d.DesiredRunning)
                .ToList();
            var added = desired.Keys.Where(id => !current.ContainsKey(id)).ToList();
            var starting = added.Concat(changed.Select(r => r.Id))
                .Concat(current.Values.Where(r => desired.TryGetValue(r.Id, out var d) && d.Fingerprint == r.Definition.Fingerprint && !r.Definition.DesiredRunning && d.DesiredRunning).Select(r => r.Id))
                .ToHashSet(StringComparer.Ordinal);
            Log.Applying(_logger, Names(added), Names(changed.Select(r => r.Id)), Names(removed.Select(r => r.Id)), Names(stopping.Select(r => r.Id)));

            // Stop what goes away or changes, later starters first (the reverse of startup order).
            foreach (var group in removed.Concat(changed).Concat(stopping).GroupBy(r => r.Definition.StartupOrder).OrderByDescending(g => g.Key))
            {
                await Task.WhenAll(group.Select(r => r.StopAsync(ct))).ConfigureAwait(false);
            }

            foreach (var r in removed.Concat(changed))
            {
                await r.DisposeAsync().ConfigureAwait(false);
            }

            lock (_gate)
            {
                foreach (var r in removed)
                {
                    _runners.Remove(r.Id);
                }

                foreach (var r in changed)
                {
                    _runners[r.Id] = new ModuleRunner(desired[r.Id], _context);
                }

                foreach (var id in added)
                {
                    _runners[id] = new ModuleRunner(desired[id], _context);
                }

                foreach (var (id, runner) in _runners)
                {
                    runner.Definition = desired[id]; // same fingerprint: only the desired status may differ
                }

                current = new(_runners, StringComparer.Ordinal);
            }

            foreach (var id in added)
            {
                if (!desired[id].DesiredRunning)
                {
                    Publish(current[id].Snapshot());
                }
            }

            // Start in ascending startupOrder; a group starts once every module of the previous one has been started.
            // Unchanged modules are left alone (a 'never' module that exited stays exited, as with edgeAgent);
            // one whose start an earlier, cancelled apply never reached is started now.
            var toStart = current.Values.Where(r => r.Definition.DesiredRunning && (starting.Contains(r.Id) || !r.EverStarted));
            foreach (var group in toStart.GroupBy(r => r.Definition.StartupOrder).OrderBy(g => g.Key))
            {
                await Task.WhenAll(group.Select(r => r.StartAsync(ct))).ConfigureAwait(false);
            }
        }
        finally
        {
            _applyLock.Release();
        }
    }

    /// <summary>Every module of the applied deployment, in startup order, with live memory figures.</summary>
    public IReadOnlyList<ModuleStatus> GetStatus()
    {
        ModuleRunner[] runners;
        lock (_gate)
        {
            runners = [.. _runners.Values];
        }

        return [.. runners.OrderBy(r => r.Definition.StartupOrder).ThenBy(r => r.Id, StringComparer.Ordinal).Select(r => r.Snapshot())];
    }

    /// <summary>Kills the module's process tree with SIGKILL, like a crash; its restart policy then applies. No-op when it is not running.</summary>
    /// <exception cref="InvalidOperationException">No module with that id is deployed.</exception>
    public Task KillAsync(string moduleId, CancellationToken ct) => Get(moduleId).KillAsync(ct);

    /// <summary>Stops the module gracefully and starts it again without back-off (edgeAgent's RestartModule); completes once it is started.</summary>
    /// <exception cref="InvalidOperationException">No module with that id is deployed, or it is desired <c>stopped</c>.</exception>
    public Task RestartAsync(string moduleId, CancellationToken ct) => Get(moduleId).RestartAsync(ct);

    /// <summary>The per-module log file (stdout and stderr lines, timestamped).</summary>
    internal string LogFilePath(string moduleId) => Get(moduleId).LogFilePath;

    /// <summary>The folder passed to a module as <c>StateDirectory</c>.</summary>
    internal string ModuleStateDirectory(string moduleId) => Get(moduleId).ModuleStateDirectory;

    /// <summary>Stops every module gracefully (reverse startup order) and releases everything; <see cref="GetStatus"/> keeps reporting the final statuses.</summary>
    public async ValueTask DisposeAsync()
    {
        // Idempotent: a second call (e.g. an `await using` after an explicit dispose) returns at once.
        if (Interlocked.Exchange(ref _disposing, 1) == 1)
        {
            return;
        }

        await _applyLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }
        finally
        {
            _applyLock.Release();
        }

        ModuleRunner[] runners;
        lock (_gate)
        {
            runners = [.. _runners.Values]; // kept: GetStatus() still reports final statuses and peaks after disposal
        }

        foreach (var group in runners.GroupBy(r => r.Definition.StartupOrder).OrderByDescending(g => g.Key))
        {
            await Task.WhenAll(group.Select(r => r.DisposeAsync().AsTask())).ConfigureAwait(false);
        }

        await _disposeCts.CancelAsync().ConfigureAwait(false);
        try
        {
            await _sampler.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }

        _disposeCts.Dispose();
        _applyLock.Dispose();
    }

    private ModuleRunner Get(string moduleId)
    {
        lock (_gate)
        {
            return _runners.TryGetValue(moduleId, out var r)
                ? r
                : throw new InvalidOperationException($"Module {moduleId} is not part of the applied deployment.");
        }
    }

    private void Publish(ModuleStatus status)
    {
        try
        {
            StatusChanged?.Invoke(status);
        }
        catch (Exception ex)
        {
            Log.HandlerFailed(_logger, ex);
        }
    }

    private async Task SampleMemoryAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_options.MemorySampleInterval, _time);
        while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
        {
            ModuleRunner[] runners;
            lock (_gate)
            {
                runners = [.. _runners.Values];
            }

            foreach (var r in runners)
            {
                r.SampleMemory();
            }
        }
    }

    private static string Names(IEnumerable<string> ids) => ids.Any() ? string.Join(",", ids) : "-";
}
