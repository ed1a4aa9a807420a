using System.Text.Json.Nodes;
using Edge.Hub.Supervisor;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Edge.Hub.Tests.Supervisor;

/// <summary>A real supervisor over real <c>/bin/sh</c> child processes in a temp state folder, with event-driven waits.</summary>
internal sealed class SupervisorHarness : IAsyncDisposable
{
    public static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(15);

    private readonly Lock _gate = new();
    private readonly List<ModuleStatus> _events = [];
    private readonly List<(string ModuleId, string Line)> _output = [];
    private readonly List<(Func<bool> Condition, TaskCompletionSource Done)> _waiters = [];
    private readonly Func<string, string> _connectionString;
    private ModuleSupervisor? _supervisor;

    public SupervisorHarness(TimeProvider? time = null, Action<SupervisorOptions>? configure = null, Func<string, string>? connectionString = null)
    {
        _connectionString = connectionString ?? ConnectionString;
        Time = time ?? TimeProvider.System;
        Root = Path.Combine(Path.GetTempPath(), "edge-supervisor-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Options = new SupervisorOptions
        {
            StateDirectory = Path.Combine(Root, "state"),
            CaCertificatePath = Path.Combine(Root, "edge-ca.pem"),
            RepoRoot = Root, // no IoTEdgeSolution.sln above a temp folder: only explicit launchers resolve
            RestartBackoffBase = TimeSpan.FromSeconds(10),
            RestartBackoffMax = TimeSpan.FromMinutes(5),
            StopGracePeriod = TimeSpan.FromSeconds(10),
            OnOutput = (id, line) => Signal(() => _output.Add((id, line))),
        };
        configure?.Invoke(Options);
        Logger = new FakeLogger<ModuleSupervisor>();
    }

    public string Root { get; }

    public TimeProvider Time { get; }

    public SupervisorOptions Options { get; }

    public FakeLogger<ModuleSupervisor> Logger { get; }

    /// <summary>Created on first use, so tests can add launchers first.</summary>
    public ModuleSupervisor Supervisor
    {
        get
        {
            if (_supervisor is null)
            {
                _supervisor = new ModuleSupervisor(Options, _connectionString, Logger, Time);
                _supervisor.StatusChanged += s => Signal(() => _events.Add(s));
            }

            return _supervisor;
        }
    }

    public static string ConnectionString(string moduleId) =>
        $"HostName=sim;GatewayHostName=localhost;DeviceId=dev1;ModuleId={moduleId};SharedAccessKey=a2V5";

    /// <summary>Set when a test expects Error logs (e.g. a module that cannot be started).</summary>
    public bool AllowErrorLogs { get; set; }

    public static ModuleLaunchSpec Sh(string script) => new("/bin/sh", ["-c", script]);

    public void Launch(string moduleId, string script) => Options.Launchers[moduleId] = Sh(script);

    public IReadOnlyList<ModuleStatus> Events(string moduleId)
    {
        lock (_gate)
        {
            return [.. _events.Where(e => e.ModuleId == moduleId)];
        }
    }

    public IReadOnlyList<ModuleStatus> AllEvents()
    {
        lock (_gate)
        {
            return [.. _events];
        }
    }

    public IReadOnlyList<string> Output(string moduleId)
    {
        lock (_gate)
        {
            return [.. _output.Where(o => o.ModuleId == moduleId).Select(o => o.Line)];
        }
    }

    public ModuleStatus Status(string moduleId) => Supervisor.GetStatus().Single(s => s.ModuleId == moduleId);

    /// <summary>Waits until <paramref name="count"/> status events of the module match <paramref name="predicate"/>; returns the last match.</summary>
    public async Task<ModuleStatus> WaitForEventAsync(string moduleId, Func<ModuleStatus, bool> predicate, int count = 1)
    {
        await WaitAsync(() => _events.Count(e => e.ModuleId == moduleId && predicate(e)) >= count, $"{count} matching status event(s) of {moduleId}").ConfigureAwait(false);
        lock (_gate)
        {
            return _events.Last(e => e.ModuleId == moduleId && predicate(e));
        }
    }

    public Task<ModuleStatus> WaitForStatusAsync(string moduleId, string runtimeStatus, int count = 1) =>
        WaitForEventAsync(moduleId, s => s.RuntimeStatus == runtimeStatus, count);

    public Task WaitForOutputAsync(string moduleId, string line) =>
        WaitAsync(() => _output.Any(o => o.ModuleId == moduleId && o.Line == line), $"output line '{line}' of {moduleId}");

    public async Task WaitAsync(Func<bool> condition, string what)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (condition())
            {
                return;
            }

            _waiters.Add((condition, done));
        }

        try
        {
            await done.Task.WaitAsync(WaitTimeout, TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out waiting for {what}. Events: {string.Join(" | ", AllEvents())}");
        }
    }

    /// <summary>Whether the process exists and is not a zombie (an orphan's zombie lingers until its new parent reaps it).</summary>
    public static bool ProcessAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Polls a condition that raises no status event (e.g. a process dying) with real time.</summary>
    public static async Task PollAsync(Func<bool> condition, string what)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (long)(WaitTimeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (!condition())
        {
            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + what);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System);
        }
    }

    public static JsonObject Module(
        string restartPolicy = "never",
        string status = "running",
        uint? startupOrder = null,
        IReadOnlyDictionary<string, string>? env = null,
        JsonObject? settings = null)
    {
        var m = new JsonObject
        {
            ["version"] = "1.0",
            ["type"] = "docker",
            ["status"] = status,
            ["restartPolicy"] = restartPolicy,
            ["settings"] = settings ?? new JsonObject { ["image"] = "localhost:5000/module:0.0.1", ["createOptions"] = "{}" },
        };
        if (startupOrder is { } order)
        {
            m["startupOrder"] = order;
        }

        if (env is not null)
        {
            var e = new JsonObject();
            foreach (var (k, v) in env)
            {
                e[k] = new JsonObject { ["value"] = v };
            }

            m["env"] = e;
        }

        return m;
    }

    public static JsonObject Desired(params (string Id, JsonObject Module)[] modules)
    {
        var mods = new JsonObject();
        foreach (var (id, m) in modules)
        {
            mods[id] = m;
        }

        return new JsonObject
        {
            ["schemaVersion"] = "1.1",
            ["runtime"] = new JsonObject { ["type"] = "docker", ["settings"] = new JsonObject { ["minDockerVersion"] = "v1.25" } },
            ["systemModules"] = new JsonObject
            {
                ["edgeAgent"] = new JsonObject { ["type"] = "docker", ["settings"] = new JsonObject { ["image"] = "mcr.microsoft.com/azureiotedge-agent:1.5", ["createOptions"] = "{}" } },
                ["edgeHub"] = new JsonObject { ["type"] = "docker", ["status"] = "running", ["restartPolicy"] = "always", ["startupOrder"] = 0, ["settings"] = new JsonObject { ["image"] = "mcr.microsoft.com/azureiotedge-hub:1.5" } },
            },
            ["modules"] = mods,
        };
    }

    public async ValueTask DisposeAsync()
    {
        if (_supervisor is not null)
        {
            await _supervisor.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }

        if (!AllowErrorLogs)
        {
            var errors = Logger.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Error).Select(r => r.Message + " " + r.Exception).ToList();
            errors.ShouldBeEmpty();
        }
    }

    private void Signal(Action record)
    {
        TaskCompletionSource[] ready;
        lock (_gate)
        {
            record();
            var hits = _waiters.Where(w => w.Condition()).ToList();
            foreach (var h in hits)
            {
                _waiters.Remove(h);
            }

            ready = [.. hits.Select(h => h.Done)];
        }

        foreach (var r in ready)
        {
            r.TrySetResult();
        }
    }
}
