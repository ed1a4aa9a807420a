using System.Diagnostics;
using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;
using Edge.Hub;
using Edge.Hub.Dashboard;
using Edge.Hub.Supervisor;
using Microsoft.Extensions.Logging;

namespace Edge.Cli.Commands.Up;

/// <summary>One <c>edge up</c> run: build, fetch assets, expand the deployment, start hub and modules, stream, summarise.</summary>
internal sealed class UpRun(UpOptions options, TextWriter stdout, TextWriter stderr, TimeProvider time)
{
    private const int Steps = 5;
    private static readonly string[] ModuleLogMarkers = ["fail:", "crit:", "warn:", "Unhandled exception", "error"];
    private readonly PipelineMonitor _monitor = new(time);
    private readonly MessageLedger _ledger = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _modulesStartedAt;

    public async Task<int> RunAsync(CancellationToken ct)
    {
        var repo = RepoRoot();
        var state = Path.GetFullPath(options.StateDirectory ?? Path.Combine(repo, ".edge", "up"));
        Directory.CreateDirectory(state);

        await StepAsync(1, options.Build ? $"Building the modules (dotnet build -c {options.Configuration})" : "Using the modules already built (--no-build)", () => BuildModulesAsync(repo, ct)).ConfigureAwait(false);
        var assets = await StepAsync(2, "Fetching the sample model and video (cached, SHA-256 verified)", () => FetchAssetsAsync(repo, ct)).ConfigureAwait(false);
        var modulesContent = await StepAsync(3, "Expanding the deployment for this machine", () => Task.FromResult(ExpandDeployment(repo, assets, state))).ConfigureAwait(false);

        using var loggerFactory = LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Warning)
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
            .AddFilter("Microsoft.AspNetCore", LogLevel.Error)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None)); // a start failure (port in use) is rethrown: one line from UpCommand
        ModuleSupervisor? supervisor = null;

        var dashboard = new DashboardSources
        {
            Monitor = _monitor,
            HubStatus = () => Sim!.GetStatus(),
            Modules = () => supervisor?.GetStatus() ?? [],
            GetTwin = (id, c) => Sim!.GetModuleTwinAsync(id, c),
            PatchDesired = (id, patch, c) => Sim!.PatchModuleDesiredAsync(id, patch, c),
            SetUpstreamOnline = online => Sim!.SetUpstreamOnline(online),
            UpstreamOnline = () => Sim!.GetStatus().UpstreamOnline,
            RestartModule = (id, c) => supervisor?.RestartAsync(id, c) ?? Task.CompletedTask,
            RestartHub = c => Sim!.RestartAsync(c),
        };

        await StepAsync(4, "Starting the simulator hub", async () =>
        {
            Sim = await EdgeHubSimulator.StartAsync(
                new SimulatorOptions
                {
                    StateDirectory = Path.Combine(state, "hub"),
                    MqttPort = options.MqttPort,
                    ApiPort = options.DashboardPort,
                    ConfigureWebApp = options.Dashboard ? app => app.MapDashboard(dashboard) : null,
                },
                loggerFactory,
                time,
                ct).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        var sim = Sim!;
        if (HubStarted is { } hubStarted)
        {
            await hubStarted(sim).ConfigureAwait(false);
        }

        await using var simScope = sim.ConfigureAwait(false);

        var moduleIds = LocalDeployment.ModuleIds(modulesContent);
        supervisor = new ModuleSupervisor(
            new SupervisorOptions
            {
                StateDirectory = state,
                CaCertificatePath = sim.CaCertificatePath,
                RepoRoot = repo,
                Launchers = moduleIds.Where(id => File.Exists(ModuleDll(repo, id)))
                    .ToDictionary(id => id, id => (options.Images ? Edge.Cli.Commands.Images.ImageLauncher.For(repo, id) : null) ?? new ModuleLaunchSpec("dotnet", [ModuleDll(repo, id)]), StringComparer.Ordinal),
                RestartBackoffBase = TimeSpan.FromSeconds(2),
                RestartBackoffMax = TimeSpan.FromSeconds(30),
                OnOutput = OnModuleOutput,
                Environment =
                {
                    ["EdgeHubPort"] = sim.MqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture),

                    // Inference logs each frame its latest-frame queue drops (event 5011, Debug): the summary lists them by seq.
                    ["Logging__LogLevel__Inference.InferenceService"] = "Debug",

                    // A detections message for every inferred frame, faces or not (the default sends an empty one only every
                    // 10 s): the summary counts per frame, so a frame without a face must not look lost. Local route only.
                    ["Inference__HeartbeatSeconds"] = "0.001",
                },
            },
            sim.GetModuleConnectionString,
            loggerFactory.CreateLogger<ModuleSupervisor>(),
            time);
        Supervisor = supervisor;
        sim.EdgeAgentDesiredChanged += (desired, c) => supervisor.ApplyAsync(desired, c);

        // Watch $upstream from before any module starts until after the drain, so the summary accounts for every message.
        using var streamCts = new CancellationTokenSource();
        var streaming = StreamUpstreamAsync(sim, streamCts.Token);
        using var runCts = CancellationTokenSource.CreateLinkedTokenSource(ct);

        await StepAsync(5, $"Starting {string.Join(" and ", moduleIds)}", async () =>
        {
            await sim.ApplyDeploymentAsync(modulesContent, ct).ConfigureAwait(false);
            await supervisor.ApplyAsync((JsonObject)modulesContent["$edgeAgent"]!["properties.desired"]!, ct).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        _modulesStartedAt = _clock.Elapsed;

        if (options.Dashboard)
        {
            await stdout.WriteLineAsync($"\n  Dashboard   {new Uri(sim.ApiUri, "/?token=" + dashboard.Token)}").ConfigureAwait(false);
        }

        await stdout.WriteLineAsync($"  Hub         mqtts://localhost:{sim.MqttPort}   cloud API {sim.ApiUri}").ConfigureAwait(false);
        var hubState = Path.Combine(state, "hub");
        var found = string.Equals(LocalHub.UpStateDirectory(Environment.CurrentDirectory), hubState, StringComparison.Ordinal);
        await stdout.WriteLineAsync(
            $"  Target it   edge twin get {sim.DeviceId} Inference{(found ? "" : $" --state {hubState}")}   (twin, method, monitor, fault, hub inject{(found ? " find this hub from the repository" : "")})").ConfigureAwait(false);
        await stdout.WriteLineAsync($"              or IOTHUB_CONNECTION_STRING='{sim.ServiceConnectionString}' IOTHUB_ENDPOINT={sim.ApiUri}").ConfigureAwait(false);
        await stdout.WriteLineAsync($"  Logs        {Path.Combine(state, "logs")}").ConfigureAwait(false);
        await stdout.WriteLineAsync(options.Duration is { } d ? $"  Running for {d}; Ctrl+C stops earlier.\n" : "  Ctrl+C stops.\n").ConfigureAwait(false);
        await stdout.WriteLineAsync("  time          camera     seq       latency   detections").ConfigureAwait(false);

        if (options.Duration is { } duration)
        {
            runCts.CancelAfter(duration);
        }

        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, time, runCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Duration elapsed or Ctrl+C: shut down in order below.
        }

        await stdout.WriteLineAsync("\n  Stopping: capture first, then draining inference and the hub…").ConfigureAwait(false);
        RunSummary summary;
        try
        {
            summary = await ShutdownAsync(sim, supervisor, modulesContent, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await supervisor.DisposeAsync().ConfigureAwait(false);
        }

        await streamCts.CancelAsync().ConfigureAwait(false);
        await streaming.ConfigureAwait(false);
        summary.Write(stdout);
        UpstreamBudget.Create(_monitor.Snapshot().BySource, _clock.Elapsed, modulesContent).Write(stdout);
        return summary.Healthy ? 0 : 1;
    }

    /// <summary>Called once the hub runs, before any module starts (tests subscribe to its upstream feed here).</summary>
    internal Func<EdgeHubSimulator, Task>? HubStarted { get; init; }

    /// <summary>The run's hub, once started (tests read its upstream feed independently).</summary>
    internal EdgeHubSimulator? Sim { get; private set; }

    /// <summary>The run's module supervisor, once created (tests kill modules through it).</summary>
    internal ModuleSupervisor? Supervisor { get; private set; }

    private async Task<RunSummary> ShutdownAsync(EdgeHubSimulator sim, ModuleSupervisor supervisor, JsonObject modulesContent, CancellationToken ct)
    {
        var captureStatus = await GetStatusAsync(sim, "CameraCapture", ct).ConfigureAwait(false);
        var agent = (JsonObject)modulesContent["$edgeAgent"]!["properties.desired"]!.DeepClone();
        if (agent["modules"]?["CameraCapture"] is JsonObject capture)
        {
            capture["status"] = "stopped";
            await supervisor.ApplyAsync(agent, ct).ConfigureAwait(false);
        }

        await DrainAsync(sim, ct).ConfigureAwait(false);
        var inferenceStatus = await GetStatusAsync(sim, "Inference", ct).ConfigureAwait(false);
        var modules = supervisor.GetStatus();
        var hub = sim.GetStatus();
        return RunSummary.Create(_ledger.Report(), _monitor.Snapshot(), captureStatus, inferenceStatus, modules, hub, _clock.Elapsed - _modulesStartedAt);
    }

    /// <summary>Waits until the hub's queues are empty and nothing new reached upstream for a moment (at most 20 s).</summary>
    private async Task DrainAsync(EdgeHubSimulator sim, CancellationToken ct)
    {
        var deadline = _clock.Elapsed + TimeSpan.FromSeconds(20);
        var last = -1L;
        var quietSince = _clock.Elapsed;
        while (_clock.Elapsed < deadline)
        {
            var total = _monitor.Snapshot().UpstreamMessages;
            var queued = sim.GetStatus().Queues.Sum(q => q.Depth);
            if (total != last)
            {
                last = total;
                quietSince = _clock.Elapsed;
            }
            else if (queued == 0 && _clock.Elapsed - quietSince > TimeSpan.FromSeconds(1.5))
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, ct).ConfigureAwait(false);
        }
    }

    private static async Task<JsonNode?> GetStatusAsync(EdgeHubSimulator sim, string moduleId, CancellationToken ct)
    {
        try
        {
            var (status, payload) = await sim.InvokeMethodAsync(moduleId, "getStatus", null, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            return status == 200 ? payload : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null;
        }
    }

    private async Task StreamUpstreamAsync(EdgeHubSimulator sim, CancellationToken ct)
    {
        try
        {
            await foreach (var message in sim.ReadUpstreamAsync(ct).ConfigureAwait(false))
            {
                _ledger.Observe(message);
                if (_monitor.Observe(message) is { } line)
                {
                    await stdout.WriteLineAsync("  " + line).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void OnModuleOutput(string moduleId, string line)
    {
        _ledger.ObserveLog(moduleId, line);
        if (ModuleLogMarkers.Any(m => line.Contains(m, StringComparison.OrdinalIgnoreCase)))
        {
            stderr.WriteLine($"  [{moduleId}] {line}");
        }
    }

    private async Task<T> StepAsync<T>(int step, string title, Func<Task<T>> action)
    {
        var started = _clock.Elapsed;
        await stdout.WriteLineAsync($"[{step}/{Steps}] {title}…").ConfigureAwait(false);
        var result = await action().ConfigureAwait(false);
        await stdout.WriteLineAsync($"      done in {(_clock.Elapsed - started).TotalSeconds:0.0} s").ConfigureAwait(false);
        return result;
    }

    private async Task<bool> BuildModulesAsync(string repo, CancellationToken ct)
    {
        foreach (var module in new[] { "CameraCapture", "Inference" })
        {
            if (!options.Build)
            {
                if (!File.Exists(ModuleDll(repo, module)))
                {
                    throw new UpException($"{ModuleDll(repo, module)} does not exist: run without --no-build, or `dotnet build modules/{module} -c {options.Configuration}`");
                }

                continue;
            }

            var (code, output) = await ChildProcess.RunAsync(
                "dotnet", ["build", Path.Combine(repo, "modules", module, module + ".csproj"), "-c", options.Configuration, "-nologo", "-v", "quiet", "-clp:ErrorsOnly"], repo, ct).ConfigureAwait(false);
            if (code != 0)
            {
                throw new UpException($"building {module} failed:\n{output}");
            }
        }

        return true;
    }

    private static async Task<string> FetchAssetsAsync(string repo, CancellationToken ct)
    {
        var (code, output) = await ChildProcess.RunAsync("bash", [Path.Combine(repo, "eng", "assets.sh"), "--quiet"], repo, ct).ConfigureAwait(false);
        var dir = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return code == 0 && dir is not null && Directory.Exists(dir)
            ? dir
            : throw new UpException($"fetching the sample model and video failed (eng/assets.sh exit {code}):\n{output}");
    }

    private JsonObject ExpandDeployment(string repo, string assets, string state)
    {
        var path = Path.GetFullPath(options.Deployment ?? Path.Combine(repo, "deployment.template.json"));
        if (!File.Exists(path))
        {
            throw new UpException($"deployment file not found: {path}");
        }

        JsonObject root;
        try
        {
            var text = File.ReadAllText(path);
            var variables = Variables(Path.Combine(repo, ".env"));
            root = text.Contains("${MODULES.", StringComparison.Ordinal) || text.Contains("\"$schema-template\"", StringComparison.Ordinal)
                ? ManifestBuilder.Build(text, new ManifestBuildOptions("amd64", variables, ModuleCatalog.FromSolution(repo)))
                : ManifestJson.Parse(text);
        }
        catch (ManifestException ex)
        {
            throw new UpException($"{path}: {ex.Message}");
        }

        var problems = ManifestValidator.Validate(root).Where(p => p.Severity == ManifestSeverity.Error).ToList();
        if (problems.Count > 0)
        {
            throw new UpException($"{path} is not a valid deployment:\n" + string.Join('\n', problems.Select(p => $"  {p.Path}: {p.Message}")));
        }

        var modulesContent = (JsonObject)root["modulesContent"]!.DeepClone();
        LocalDeployment.Adapt(modulesContent, assets, state, options);
        return modulesContent;
    }

    /// <summary>Registry variables a local run does not need; a value from .env or the environment wins.</summary>
    private static readonly Dictionary<string, string> LocalVariables = new(StringComparer.Ordinal)
    {
        ["CONTAINER_REGISTRY_SERVER"] = "localhost:5000",
        ["CONTAINER_REGISTRY_USERNAME"] = "local",
        ["CONTAINER_REGISTRY_PASSWORD"] = "local",
    };

    /// <summary>
    /// <c>.env</c>, then the environment (which wins, as in <see cref="VariableSet.FromDotEnvAndEnvironment"/>), an old
    /// <c>CONTAINER_REGISTRY_ADDRESS</c> counting as <c>CONTAINER_REGISTRY_SERVER</c>; local defaults for the rest.
    /// </summary>
    private static VariableSet Variables(string dotEnvPath)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(dotEnvPath))
        {
            foreach (var (k, v) in DotEnv.Parse(File.ReadAllText(dotEnvPath)))
            {
                values[k] = v;
            }
        }

        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            values[(string)e.Key] = (string?)e.Value ?? "";
        }

        foreach (var (old, current) in VariableSet.DeprecatedNames)
        {
            if (values.TryGetValue(old, out var value))
            {
                values.TryAdd(current, value);
            }
        }

        foreach (var (name, value) in LocalVariables)
        {
            values.TryAdd(name, value);
        }

        return new VariableSet(values).WithDeprecatedAliases(out _);
    }

    private string ModuleDll(string repo, string moduleId) =>
        Path.Combine(repo, "artifacts", "bin", moduleId, options.Configuration, moduleId + ".dll");

    private static string RepoRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "IoTEdgeSolution.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new UpException("run edge up from the repository (IoTEdgeSolution.sln not found above the current directory)");
    }
}
