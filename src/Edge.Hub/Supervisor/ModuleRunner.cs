// Over 500 lines on purpose: one job, one module's process under a restart policy (start, exit, back-off, stop, kill, status),
// as one loop task and the commands that wake it, all guarded by one lock. Spawning (environment, volumes) is the separable
// part and the next split (issue 17 follow-up); the loop, the commands and the status transitions share the locked state.
using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Supervisor;

/// <summary>What every module runner shares.</summary>
internal sealed record RunnerContext(
    SupervisorOptions Options,
    string StateDirectory,
    string CaCertificatePath,
    ModuleLauncher Launcher,
    Func<string, string> ConnectionStringForModule,
    ILogger Logger,
    TimeProvider Time,
    Action<ModuleStatus> Publish);

/// <summary>
/// Supervises one module's process like edgeAgent does a container: starts it, applies the restart policy with
/// exponential back-off when it exits, and stops it gracefully (SIGTERM, then SIGKILL after the grace period).
/// One loop task per running module owns the process; commands (stop, restart) wake it through a cancellation token.
/// </summary>
internal sealed class ModuleRunner : IAsyncDisposable
{
    public const string ConnectionStringVariable = "EdgeHubConnectionString";
    public const string CaCertificateVariable = "EdgeModuleCACertificateFile";
    public const string StateDirectoryVariable = "StateDirectory";

    private enum Command
    {
        None,
        Stop,
        Restart,
    }

    private readonly RunnerContext _ctx;
    private readonly ModuleOutput _output;
    private readonly CancellationTokenSource _pumpCts = new();
    private readonly Lock _gate = new();
    private readonly List<TaskCompletionSource> _spawnWaiters = [];

    private string _status = RuntimeStatuses.Stopped;
    private int? _exitCode;
    private Process? _process;
    private TaskCompletionSource? _processExited;
    private DateTimeOffset? _startTime;
    private DateTimeOffset? _lastExitTime;
    private int _restartCount;
    private long? _rss;
    private long? _peakRss;
    private string? _error;
    private Command _pending;
    private CancellationTokenSource? _wakeCts;
    private Task? _loop;
    private bool _loopSettled;
    private bool _volumesPrepared;
    private bool _disposed;

    public ModuleRunner(ModuleDefinition definition, RunnerContext ctx)
    {
        Definition = definition;
        _ctx = ctx;
        ModuleStateDirectory = Path.Combine(ctx.StateDirectory, "modules", definition.Id);
        _output = new ModuleOutput(
            definition.Id,
            Path.Combine(ctx.StateDirectory, "logs", definition.Id + ".log"),
            ctx.Options.MaxLogFileBytes,
            ctx.Options.OnOutput,
            ctx.Time,
            ctx.Logger);
    }

    /// <summary>The module's definition; replaced by the supervisor when only its desired status changes.</summary>
    public ModuleDefinition Definition { get; set; }

    public string Id => Definition.Id;

    public string ModuleStateDirectory { get; }

    public string LogFilePath => _output.Path;

    /// <summary>Whether a supervision loop is running and still acting on commands (a loop that settled on a final status is not).</summary>
    private bool LoopActive => _loop is { IsCompleted: false } && !_loopSettled;

    /// <summary>Whether supervision was ever started (false for a module desired stopped, or whose start was cancelled).</summary>
    public bool EverStarted
    {
        get
        {
            lock (_gate)
            {
                return _loop is not null;
            }
        }
    }

    /// <summary>Starts supervising (no-op if already); completes once the first start attempt is made (started or failed).</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        Task? stopping = null;
        lock (_gate)
        {
            if (LoopActive && _pending == Command.Stop)
            {
                stopping = _loop;
            }
        }

        if (stopping is not null)
        {
            await stopping.WaitAsync(ct).ConfigureAwait(false);
        }

        TaskCompletionSource waiter;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (LoopActive)
            {
                return;
            }

            waiter = AddWaiter();
            _pending = Command.None;
            _loop = NextLoopLocked();
        }

        await waiter.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Stops the module gracefully and ends supervision; its status becomes <c>stopped</c>.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        Task? loop;
        CancellationTokenSource? wake;
        lock (_gate)
        {
            _pending = Command.Stop;
            loop = _loop;
            wake = _wakeCts;
        }

        await CancelQuietlyAsync(wake).ConfigureAwait(false);
        if (loop is not null)
        {
            await loop.WaitAsync(ct).ConfigureAwait(false);
        }

        ModuleStatus? changed = null;
        lock (_gate)
        {
            if (_status != RuntimeStatuses.Stopped && !LoopActive)
            {
                _status = RuntimeStatuses.Stopped;
                changed = SnapshotLocked();
            }
        }

        if (changed is not null)
        {
            _ctx.Publish(changed);
        }
    }

    /// <summary>Stops the running process gracefully and starts it again at once (no back-off); starts a module that has exited.</summary>
    public async Task RestartAsync(CancellationToken ct)
    {
        TaskCompletionSource waiter;
        CancellationTokenSource? wake = null;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!Definition.DesiredRunning)
            {
                throw new InvalidOperationException($"Module {Id} is desired 'stopped'; set its status to 'running' to start it.");
            }

            if (LoopActive && _pending == Command.Stop)
            {
                throw new InvalidOperationException($"Module {Id} is being stopped.");
            }

            waiter = AddWaiter();
            if (LoopActive)
            {
                _pending = Command.Restart;
                wake = _wakeCts;
            }
            else
            {
                _pending = Command.None;
                _loop = NextLoopLocked();
            }
        }

        await CancelQuietlyAsync(wake).ConfigureAwait(false);
        await waiter.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Kills the running process and its children with SIGKILL (a crash); the restart policy then applies.</summary>
    public async Task KillAsync(CancellationToken ct)
    {
        Process? process;
        Task? exited;
        lock (_gate)
        {
            process = _process;
            exited = _processExited?.Task;
        }

        if (process is null || exited is null)
        {
            return;
        }

        Log.ModuleKilled(_ctx.Logger, Id);
        SampleMemory();
        KillTree(process);
        await exited.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Samples memory of the live process so the peak outlives it.</summary>
    public void SampleMemory()
    {
        lock (_gate)
        {
            SampleMemoryLocked();
        }
    }

    public ModuleStatus Snapshot()
    {
        lock (_gate)
        {
            SampleMemoryLocked();
            return SnapshotLocked();
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _pumpCts.CancelAsync().ConfigureAwait(false);
        _pumpCts.Dispose();
        _output.Dispose();
        lock (_gate)
        {
            _wakeCts?.Dispose();
            _wakeCts = null;
        }
    }

    private async Task RunLoopAsync()
    {
        try
        {
            PrepareVolumes();
            while (true)
            {
                CancellationToken wake;
                lock (_gate)
                {
                    if (_pending == Command.Stop)
                    {
                        break;
                    }

                    _pending = Command.None;
                    _wakeCts?.Dispose();
                    _wakeCts = new CancellationTokenSource();
                    wake = _wakeCts.Token;
                }

                var resolution = _ctx.Launcher.Resolve(Id);
                if (resolution.Spec is null)
                {
                    Log.ModuleStartFailed(_ctx.Logger, Id, resolution.Error!);
                    _output.Write("supervisor", resolution.Error!);
                    SetStatus(RuntimeStatuses.Failed, resolution.Error);
                    return;
                }

                int? exitCode = null;
                var runTime = TimeSpan.Zero;
                var (process, pumps, startError) = Spawn(resolution.Spec);
                CompleteWaiters();
                if (process is not null)
                {
                    var started = _ctx.Time.GetUtcNow();
                    var interrupted = false;
                    try
                    {
                        await process.WaitForExitAsync(wake).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        interrupted = true;
                    }

                    if (interrupted)
                    {
                        await TerminateAsync(process).ConfigureAwait(false);
                    }

                    try
                    {
                        await Task.WhenAll(pumps).WaitAsync(TimeSpan.FromSeconds(2), _ctx.Time).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // A grandchild still holds the pipe; stop waiting for the rest of its output.
                    }

                    exitCode = process.ExitCode;
                    runTime = _ctx.Time.GetUtcNow() - started;
                    RecordExit(process, exitCode.Value);

                    Command command;
                    lock (_gate)
                    {
                        command = _pending;
                    }

                    if (command == Command.Stop)
                    {
                        break;
                    }

                    if (command == Command.Restart)
                    {
                        continue;
                    }

                    Log.ModuleExited(_ctx.Logger, Id, exitCode.Value, runTime, Definition.RestartPolicy);
                }

                if (runTime >= _ctx.Options.RestartCountResetAfter)
                {
                    lock (_gate)
                    {
                        _restartCount = 0;
                    }
                }

                if (!ShouldRestart(Definition.RestartPolicy, exitCode))
                {
                    ModuleStatus settled;
                    lock (_gate)
                    {
                        if (_pending == Command.Restart)
                        {
                            continue;
                        }

                        // Settled under the lock: a restart or start from now on begins a new loop (after this one returns)
                        // instead of leaving a command for a loop that no longer reads it.
                        _loopSettled = true;
                        _status = exitCode == 0 ? RuntimeStatuses.Stopped : RuntimeStatuses.Failed;
                        _error = startError;
                        settled = SnapshotLocked();
                    }

                    _ctx.Publish(settled);
                    return;
                }

                int count;
                lock (_gate)
                {
                    count = _restartCount;
                }

                var delay = Backoff(count);
                var delayTask = Task.Delay(delay, _ctx.Time, wake); // before publishing, so a test advancing time sees the timer
                Log.ModuleBackoff(_ctx.Logger, Id, delay, count + 1);
                SetStatus(RuntimeStatuses.Backoff, startError);
                try
                {
                    await delayTask.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    lock (_gate)
                    {
                        if (_pending == Command.Stop)
                        {
                            break;
                        }
                    }

                    continue;
                }

                lock (_gate)
                {
                    _restartCount++;
                }
            }

            SetStatus(RuntimeStatuses.Stopped, null);
            int? code;
            lock (_gate)
            {
                code = _exitCode;
            }

            Log.ModuleStopped(_ctx.Logger, Id, code);
        }
        catch (Exception ex)
        {
            Log.SupervisionFailed(_ctx.Logger, Id, ex);
            SetStatus(RuntimeStatuses.Failed, ex.Message);
        }
        finally
        {
            CompleteWaiters();
        }
    }

    private (Process? Process, Task[] Pumps, string? Error) Spawn(ModuleLaunchSpec spec)
    {
        Process? process = null;
        string connectionString;
        try
        {
            connectionString = _ctx.ConnectionStringForModule(Id);
        }
        catch (Exception ex)
        {
            return (null, [], StartFailed(spec, "no connection string: " + ex.Message));
        }

        try
        {
            Directory.CreateDirectory(ModuleStateDirectory);
            var psi = new ProcessStartInfo(spec.FileName)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = spec.WorkingDirectory ?? ModuleStateDirectory,
            };
            foreach (var arg in spec.Arguments)
            {
                psi.ArgumentList.Add(arg);
            }

            foreach (var (name, value) in Definition.Env)
            {
                psi.Environment[name] = value;
            }

            SetSimulatorVariable(psi, ConnectionStringVariable, connectionString);
            SetSimulatorVariable(psi, CaCertificateVariable, _ctx.CaCertificatePath);
            SetSimulatorVariable(psi, StateDirectoryVariable, ModuleStateDirectory);
            foreach (var (name, value) in _ctx.Options.Environment)
            {
                SetSimulatorVariable(psi, name, value);
            }

            process = new Process { StartInfo = psi };
            process.Start();
            process.StandardInput.Close(); // a module reading stdin sees EOF, not the supervisor's terminal
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or IOException or UnauthorizedAccessException or ArgumentException or FormatException)
        {
            process?.Dispose();
            return (null, [], StartFailed(spec, ex.Message));
        }

        var pumps = new[]
        {
            _output.PumpAsync(process.StandardOutput, "stdout", _pumpCts.Token),
            _output.PumpAsync(process.StandardError, "stderr", _pumpCts.Token),
        };
        var pid = process.Id;
        var args = string.Join(' ', spec.Arguments);
        Log.ModuleStarted(_ctx.Logger, Id, pid, spec.FileName, args);
        _output.Write("supervisor", $"started pid {pid}: {spec.FileName} {args}");
        ModuleStatus snapshot;
        lock (_gate)
        {
            _process = process;
            _processExited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _status = RuntimeStatuses.Running;
            _startTime = _ctx.Time.GetUtcNow();
            _rss = null;
            _error = null;
            SampleMemoryLocked();
            snapshot = SnapshotLocked();
        }

        _ctx.Publish(snapshot);
        return (process, pumps, null);
    }

    private string StartFailed(ModuleLaunchSpec spec, string reason)
    {
        var error = $"cannot start module {Id} ({spec.FileName}): {reason}";
        Log.ModuleStartFailed(_ctx.Logger, Id, error);
        _output.Write("supervisor", error);
        lock (_gate)
        {
            _error = error;
        }

        return error;
    }

    private void SetSimulatorVariable(ProcessStartInfo psi, string name, string value)
    {
        if (Definition.Env.Any(e => e.Key == name))
        {
            Log.EnvOverridden(_ctx.Logger, Id, name);
        }

        psi.Environment[name] = value;
    }

    private async Task TerminateAsync(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        SampleMemory();

        // Like a container, a module's processes go with it: whatever it started and left behind is killed after it exits.
        var descendants = ProcessControl.Descendants(process.Id);
        if (!ProcessControl.Signal(process.Id, ProcessControl.SigTerm))
        {
            KillTree(process);
        }

        var grace = _ctx.Options.StopGracePeriod;
        try
        {
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(grace, _ctx.Time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.StopGraceExpired(_ctx.Logger, Id, grace);
            _output.Write("supervisor", $"no exit within {grace} of SIGTERM: SIGKILL");
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var pid in descendants)
        {
            ProcessControl.Signal(pid, ProcessControl.SigKill);
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException or ObjectDisposedException)
        {
            // Already exited.
        }
    }

    private void RecordExit(Process process, int exitCode)
    {
        _output.Write("supervisor", $"exited with code {exitCode}");
        TaskCompletionSource? exited;
        lock (_gate)
        {
            _exitCode = exitCode;
            _lastExitTime = _ctx.Time.GetUtcNow();
            _process = null;
            _rss = null;
            exited = _processExited;
            _processExited = null;
        }

        process.Dispose();
        exited?.TrySetResult();
    }

    private void SetStatus(string status, string? error)
    {
        ModuleStatus snapshot;
        lock (_gate)
        {
            _status = status;
            _error = error;
            snapshot = SnapshotLocked();
        }

        _ctx.Publish(snapshot);
    }

    private void SampleMemoryLocked()
    {
        if (_process is { } p && ProcessControl.ReadMemory(p.Id) is { } m)
        {
            _rss = m.Rss;
            _peakRss = Math.Max(_peakRss ?? 0, m.Peak);
        }
    }

    private ModuleStatus SnapshotLocked() =>
        new(Id, _status, _exitCode, _process?.Id, _startTime, _lastExitTime, _restartCount, _process is null ? null : _rss, _peakRss, _error);

    /// <summary>Starts a supervision loop; one that settled but has not returned yet finishes first, so statuses stay in order.</summary>
    private Task NextLoopLocked()
    {
        var previous = _loop;
        _loopSettled = false;
        return previous is null || previous.IsCompleted
            ? Task.Run(RunLoopAsync, CancellationToken.None)
            : RunAfterAsync(previous);

        async Task RunAfterAsync(Task before)
        {
            await before.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await RunLoopAsync().ConfigureAwait(false);
        }
    }

    private TaskCompletionSource AddWaiter()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _spawnWaiters.Add(tcs);
        return tcs;
    }

    private void CompleteWaiters()
    {
        TaskCompletionSource[] waiters;
        lock (_gate)
        {
            waiters = [.. _spawnWaiters];
            _spawnWaiters.Clear();
        }

        foreach (var w in waiters)
        {
            w.TrySetResult();
        }
    }

    private static async Task CancelQuietlyAsync(CancellationTokenSource? cts)
    {
        try
        {
            if (cts is not null)
            {
                await cts.CancelAsync().ConfigureAwait(false);
            }
        }
        catch (ObjectDisposedException)
        {
            // The loop moved on to a new token; nothing to wake.
        }
    }

    internal static bool ShouldRestart(RestartPolicy policy, int? exitCode) => policy switch
    {
        RestartPolicy.Never => false,
        RestartPolicy.OnFailure => exitCode != 0,
        _ => true, // always; on-unhealthy: no health checks locally, so treated like always
    };

    internal TimeSpan Backoff(int restartCount)
    {
        var baseDelay = _ctx.Options.RestartBackoffBase;
        var max = _ctx.Options.RestartBackoffMax;
        var ticks = baseDelay.Ticks * Math.Pow(2, Math.Min(restartCount, 62));
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    private void PrepareVolumes()
    {
        lock (_gate)
        {
            if (_volumesPrepared)
            {
                return;
            }

            _volumesPrepared = true;
        }

        var co = Definition.CreateOptions;
        if (co.Ignored.Count > 0)
        {
            Log.CreateOptionsIgnored(_ctx.Logger, Id, string.Join(", ", co.Ignored));
        }

        foreach (var bind in co.Binds)
        {
            if (bind.IsNamedVolume)
            {
                var hostPath = VolumePath(_ctx.StateDirectory, bind.Source);
                Directory.CreateDirectory(hostPath);
                Log.VolumeCreated(_ctx.Logger, Id, bind.Source, hostPath, bind.Target);
            }
            else
            {
                Log.HostBindSkipped(_ctx.Logger, Id, bind.Source, bind.Target);
            }
        }
    }

    /// <summary>Where a relative bind source (a Docker named volume) lives locally: <c>{state}/volumes/{name}</c>, kept inside it.</summary>
    internal static string VolumePath(string stateDirectory, string source)
    {
        var root = Path.GetFullPath(Path.Combine(stateDirectory, "volumes"));
        var full = Path.GetFullPath(Path.Combine(root, source));
        return full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? full
            : Path.Combine(root, string.Join('_', source.Split(Path.GetInvalidFileNameChars().Append('.').ToArray(), StringSplitOptions.RemoveEmptyEntries)));
    }
}
