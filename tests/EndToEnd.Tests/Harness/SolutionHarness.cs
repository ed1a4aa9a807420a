using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Hub;
using Edge.Hub.Supervisor;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace EndToEnd.Tests.Harness;

/// <summary>
/// One end-to-end scenario's world: a temp state folder, the in-process simulator hub, a module supervisor launching the
/// real module processes (<c>dotnet artifacts/bin/{Project}/{config}/{Project}.dll</c>), an upstream collector feeding the
/// counting verifier, RSS sampling from the supervisor's status, and failure output with hub status and module log tails.
/// </summary>
internal sealed class SolutionHarness : IAsyncDisposable
{
    /// <summary>Env given to every module: reconnect fast so restarts and cuts show up in seconds, not minutes.</summary>
    public static readonly IReadOnlyDictionary<string, string> CommonEnv = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["EdgeHub__ReconnectDelay"] = "00:00:00.200",
        ["EdgeHub__ReconnectMaxDelay"] = "00:00:02",
        ["RuntimeLogLevel"] = "info",
    };

    private readonly TempDirectory _temp;
    private readonly ILoggerFactory _loggers;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _sampling = new();
    private readonly Dictionary<string, List<(TimeSpan At, long Rss)>> _memory = new(StringComparer.Ordinal);
    private readonly Lock _memoryGate = new();
    private Task _sampler = Task.CompletedTask;
    private ModuleSupervisor? _supervisor;
    private IReadOnlyDictionary<string, ModuleKind> _kinds = new Dictionary<string, ModuleKind>();

    private readonly List<Exception> _unobserved = [];

    private SolutionHarness(TempDirectory temp, ILoggerFactory loggers, FakeLogCollector logs, EdgeHubSimulator sim, UpstreamCollector upstream)
    {
        _temp = temp;
        _loggers = loggers;
        Logs = logs;
        Sim = sim;
        Upstream = upstream;
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    /// <summary>The test's build configuration folder name (<c>debug</c> or <c>release</c>), from where the test runs.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;

    public EdgeHubSimulator Sim { get; }

    public ModuleSupervisor Supervisor => _supervisor ?? throw new InvalidOperationException("Nothing deployed yet.");

    public UpstreamCollector Upstream { get; }

    public CountingVerifier Verifier => Upstream.Verifier;

    /// <summary>Log records of the hub and the supervisor.</summary>
    public FakeLogCollector Logs { get; }

    public string StateDirectory => _temp.Path;

    public TimeSpan Elapsed => _clock.Elapsed;

    public static async Task<SolutionHarness> StartAsync(CancellationToken ct, Action<SimulatorOptions>? configure = null)
    {
        var temp = new TempDirectory("edge-e2e");
        var logs = new FakeLogCollector();
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(new FakeLoggerProvider(logs))
            .AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
        var options = new SimulatorOptions
        {
            StateDirectory = Path.Combine(temp.Path, "hub"),
            MessageAckTimeout = TimeSpan.FromSeconds(5),
            IdleRecheckInterval = TimeSpan.FromMilliseconds(200),
            UpstreamHistory = 100,
        };
        configure?.Invoke(options);
        var sim = await EdgeHubSimulator.StartAsync(options, loggers, TimeProvider.System, ct);
        var upstream = await UpstreamCollector.StartAsync(sim, ct);
        var h = new SolutionHarness(temp, loggers, logs, sim, upstream);
        h._sampler = h.SampleMemoryAsync(h._sampling.Token);
        return h;
    }

    /// <summary>The built dll of a project under <c>artifacts/bin</c> for the configuration the tests were built in.</summary>
    public static string ModuleDll(string project)
    {
        var path = Path.Combine(Assets.RepoRoot, "artifacts", "bin", project, Configuration, project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{project} is not built for {Configuration}: dotnet build tests/EndToEnd.Tests builds it first.", path);
    }

    public static ModuleLaunchSpec Launcher(ModuleKind kind)
    {
        if (ContainerImages.ImageFor(kind) is { } image)
        {
            return ContainerImages.Launcher(image);
        }

        var project = kind.ToString();
        var dll = ModuleDll(project);
        return new ModuleLaunchSpec("dotnet", [dll], Path.GetDirectoryName(dll));
    }

    /// <summary>
    /// Applies the whole deployment (module twins, routes, then the modules). The first call creates the supervisor with a
    /// launcher for every module in <paramref name="deployment"/>; later deployments may only use those module ids.
    /// </summary>
    public async Task DeployAsync(DeploymentBuilder deployment, CancellationToken ct)
    {
        EnsureSupervisor(deployment);
        var content = deployment.Build();
        await Sim.ApplyDeploymentAsync(content, ct);
        await Supervisor.ApplyAsync(deployment.EdgeAgentDesired(), ct);
    }

    /// <summary>Changes a module's <c>status</c> (running/stopped) through <c>$edgeAgent</c> only; module twins are left alone.</summary>
    public async Task SetStatusAsync(DeploymentBuilder deployment, string moduleId, string status, CancellationToken ct)
    {
        deployment.Status(moduleId, status);
        EnsureSupervisor(deployment);
        await Supervisor.ApplyAsync(deployment.EdgeAgentDesired(), ct);
    }

    /// <summary>Waits for <paramref name="condition"/>; on timeout fails with <paramref name="what"/> and the diagnostics.</summary>
    public async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken ct)
    {
        var deadline = _clock.Elapsed + timeout;
        while (!condition())
        {
            if (_clock.Elapsed > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {what}.\n{Diagnostics()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, ct);
        }
    }

    /// <summary>Waits until a module process is running and connected to the hub (its client id is listed).</summary>
    public Task WaitConnectedAsync(string moduleId, CancellationToken ct, TimeSpan? timeout = null) =>
        WaitForAsync(() => Sim.GetStatus().Clients.Any(c => c.ClientId == $"{Sim.DeviceId}/{moduleId}"), timeout ?? TimeSpan.FromSeconds(30), $"{moduleId} to connect", ct);

    /// <summary>
    /// The last sequence number a LoadGen sender's outbox accepted: its persisted next sequence number minus one (written
    /// after each accepted send, so it survives kill -9). Read it after the sender stopped to know exactly what was sent.
    /// </summary>
    public long LoadGenAcceptedSeq(string moduleId)
    {
        var file = Path.Combine(Supervisor.ModuleStateDirectory(moduleId), $"loadgen-{moduleId}.seq");
        return File.Exists(file) ? long.Parse(File.ReadAllText(file), System.Globalization.CultureInfo.InvariantCulture) - 1 : 0;
    }

    /// <summary>Applies <c>$edgeAgent</c> only (changed modules are recreated: graceful stop, then start); module twins are left alone.</summary>
    public async Task ApplyModulesAsync(DeploymentBuilder deployment, CancellationToken ct)
    {
        EnsureSupervisor(deployment);
        await Supervisor.ApplyAsync(deployment.EdgeAgentDesired(), ct);
    }

    /// <summary>Stops a module gracefully through <c>$edgeAgent</c> and waits until its process is gone.</summary>
    public async Task StopAsync(DeploymentBuilder deployment, string moduleId, CancellationToken ct)
    {
        await SetStatusAsync(deployment, moduleId, "stopped", ct);
        await WaitForAsync(() => Module(moduleId).RuntimeStatus == "stopped", TimeSpan.FromSeconds(30), $"{moduleId} to stop", ct);
    }

    /// <summary>Every line of a module's log so far (stdout/stderr as captured by the supervisor).</summary>
    public IReadOnlyList<string> ModuleLog(string moduleId)
    {
        var path = Supervisor.LogFilePath(moduleId);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    public ModuleStatus Module(string moduleId) => Supervisor.GetStatus().Single(m => m.ModuleId == moduleId);

    /// <summary>Invokes a direct method, retrying 404 (module not connected yet) until <paramref name="timeout"/>.</summary>
    public async Task<JsonNode?> InvokeAsync(string moduleId, string method, CancellationToken ct, JsonNode? payload = null, TimeSpan? timeout = null)
    {
        var deadline = _clock.Elapsed + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                var (status, body) = await Sim.InvokeMethodAsync(moduleId, method, payload, TimeSpan.FromSeconds(10), ct);
                if (status == 200)
                {
                    return body;
                }

                throw new InvalidOperationException($"{moduleId}.{method} returned {status}: {body?.ToJsonString()}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not InvalidOperationException && _clock.Elapsed < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), TimeProvider.System, ct);
            }
        }
    }

    /// <summary>RSS samples (bytes) per module id, plus <c>hub</c> (this test process, which hosts the hub).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(TimeSpan At, long Rss)>> Memory
    {
        get
        {
            lock (_memoryGate)
            {
                return _memory.ToDictionary(p => p.Key, p => (IReadOnlyList<(TimeSpan, long)>)[.. p.Value], StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Fails on Error-level hub/supervisor logs (except <paramref name="allowedEventIds"/>) and on hub drops other than the allowed reasons.</summary>
    public void AssertHealthy(int[]? allowedEventIds = null, string[]? allowedDrops = null)
    {
        var errors = Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Error && !(allowedEventIds ?? []).Contains(r.Id.Id)).ToList();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        lock (_unobserved)
        {
            _unobserved.ShouldBeEmpty($"unobserved task exceptions:\n{string.Join("\n", _unobserved)}");
        }

        errors.ShouldBeEmpty($"hub/supervisor Error logs:\n{string.Join("\n", errors.Select(e => $"{e.Id.Id} {e.Message} {e.Exception}"))}\n{Diagnostics()}");
        // no-route: reported-property notifications (/twinChangeNotifications) that no route takes, as in edgeHub.
        var drops = Sim.GetStatus().Drops.Where(d => d.Key != "no-route" && !(allowedDrops ?? []).Contains(d.Key)).ToList();
        drops.ShouldBeEmpty($"unexpected hub drops: {string.Join(", ", drops.Select(d => $"{d.Key}={d.Value}"))}");
    }

    /// <summary>Hub status, module status, the verifier's report and the last lines of every module's log.</summary>
    public string Diagnostics()
    {
        var sb = new StringBuilder();
        try
        {
            var hub = Sim.GetStatus();
            sb.AppendLine($"-- hub: upstreamOnline={hub.UpstreamOnline} received={hub.MessagesReceived} delivered={hub.MessagesDelivered} upstream={hub.UpstreamDelivered} redeliveries={hub.Redeliveries}");
            sb.AppendLine($"   queues: {string.Join(", ", hub.Queues.Select(q => $"{q.Endpoint}@{q.Priority}={q.Depth}"))}");
            sb.AppendLine($"   clients: {string.Join(", ", hub.Clients.Select(c => c.ClientId))}");
            sb.AppendLine($"   routes: {string.Join(", ", hub.Routes.Select(r => $"{r.Name}={r.Matched}"))}");
            sb.AppendLine($"   refusals: {JsonSerializer.Serialize(hub.Refusals)} drops: {JsonSerializer.Serialize(hub.Drops)} configError: {hub.LastConfigError}");
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            sb.AppendLine($"-- hub status unavailable: {ex.Message}");
        }

        sb.AppendLine($"-- upstream: {Upstream.Count} messages");
        foreach (var r in Verifier.Report())
        {
            sb.AppendLine("   " + r);
        }

        foreach (var m in _supervisor?.GetStatus() ?? [])
        {
            sb.AppendLine($"-- module {m.ModuleId}: {m.RuntimeStatus} pid={m.Pid} exit={m.ExitCode} restarts={m.RestartCount} rss={m.RssBytes / 1048576.0:0.0}MB error={m.Error}");
            try
            {
                foreach (var line in File.ReadLines(_supervisor!.LogFilePath(m.ModuleId)).TakeLast(12))
                {
                    sb.AppendLine("   | " + line);
                }
            }
            catch (IOException ex)
            {
                sb.AppendLine($"   (log unreadable: {ex.Message})");
            }
        }

        foreach (var r in Logs.GetSnapshot().Where(r => r.Level >= LogLevel.Warning).TakeLast(15))
        {
            sb.AppendLine($"-- hub log {r.Level} {r.Id.Id}: {r.Message}");
        }

        return sb.ToString();
    }

    /// <summary>Writes a one-line-per-source summary and memory figures to the test output.</summary>
    public void Report(string title)
    {
        var output = TestContext.Current.TestOutputHelper;
        if (output is null)
        {
            return;
        }

        output.WriteLine($"== {title} ({_clock.Elapsed.TotalSeconds:0.0} s)");
        foreach (var r in Verifier.Report())
        {
            var lat = Upstream.Latencies(r.Source);
            var dups = Upstream.DuplicateSeqs(r.Source);
            output.WriteLine($"   {r}  latency p50={E2E.Percentile([.. lat], 50):0.0}ms p99={E2E.Percentile([.. lat], 99):0.0}ms" +
                (dups.Count > 0 ? $" duplicateSeqs=[{string.Join(",", dups.Take(20))}]" : ""));
        }

        var hub = Sim.GetStatus();
        output.WriteLine($"   hub: received={hub.MessagesReceived} upstream={hub.UpstreamDelivered} redeliveries={hub.Redeliveries} drops={JsonSerializer.Serialize(hub.Drops)} refusals={JsonSerializer.Serialize(hub.Refusals)}");

        foreach (var (id, samples) in Memory)
        {
            output.WriteLine($"   rss {id}: first={samples[0].Rss / 1048576.0:0.0}MB peak={samples.Max(s => s.Rss) / 1048576.0:0.0}MB last={samples[^1].Rss / 1048576.0:0.0}MB ({samples.Count} samples)");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sampling.CancelAsync();
        try
        {
            await _sampler;
        }
        catch (OperationCanceledException)
        {
        }

        if (_supervisor is not null)
        {
            await _supervisor.DisposeAsync();
        }

        await Upstream.DisposeAsync();
        await Sim.DisposeAsync();
        TaskScheduler.UnobservedTaskException -= OnUnobserved;
        _loggers.Dispose();
        _sampling.Dispose();
        _temp.Dispose();
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        lock (_unobserved)
        {
            _unobserved.Add(e.Exception);
        }
    }

    private void EnsureSupervisor(DeploymentBuilder deployment)
    {
        if (_supervisor is not null)
        {
            var unknown = deployment.Modules.Keys.Where(id => !_kinds.ContainsKey(id)).ToList();
            if (unknown.Count > 0)
            {
                throw new InvalidOperationException($"Modules {string.Join(",", unknown)} were not in the first deployment (launchers are fixed then); add them there with status 'stopped'.");
            }

            return;
        }

        _kinds = deployment.Modules;
        foreach (var id in _kinds.Keys)
        {
            foreach (var (k, v) in CommonEnv.Append(new("EdgeHubPort", Sim.MqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture))))
            {
                if (!deployment.HasEnv(id, k))
                {
                    deployment.Env(id, k, v);
                }
            }
        }

        _supervisor = new ModuleSupervisor(
            new SupervisorOptions
            {
                StateDirectory = Path.Combine(_temp.Path, "supervisor"),
                CaCertificatePath = Sim.CaCertificatePath,
                RepoRoot = Assets.RepoRoot,
                Launchers = _kinds.ToDictionary(p => p.Key, p => Launcher(p.Value), StringComparer.Ordinal),
                RestartBackoffBase = TimeSpan.FromMilliseconds(200),
                RestartBackoffMax = TimeSpan.FromSeconds(2),
                StopGracePeriod = TimeSpan.FromSeconds(8),
                MemorySampleInterval = TimeSpan.FromMilliseconds(500),
            },
            Sim.GetModuleConnectionString,
            _loggers.CreateLogger<ModuleSupervisor>(),
            TimeProvider.System);
    }

    private async Task SampleMemoryAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(E2E.Pick(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5)), TimeProvider.System);
        using var self = Process.GetCurrentProcess();
        while (await timer.WaitForNextTickAsync(ct))
        {
            var at = _clock.Elapsed;
            self.Refresh();
            var samples = new List<(string, long)> { ("hub", self.WorkingSet64) };
            foreach (var m in _supervisor?.GetStatus() ?? [])
            {
                if (m.RssBytes is { } rss)
                {
                    samples.Add((m.ModuleId, rss));
                }
            }

            lock (_memoryGate)
            {
                foreach (var (id, rss) in samples)
                {
                    if (!_memory.TryGetValue(id, out var list))
                    {
                        _memory[id] = list = [];
                    }

                    list.Add((at, rss));
                }
            }
        }
    }
}
