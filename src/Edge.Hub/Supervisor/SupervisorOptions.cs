using System.ComponentModel.DataAnnotations;

namespace Edge.Hub.Supervisor;

/// <summary>How the simulator's module supervisor starts and restarts module processes. See docs/simulator-supervisor.md.</summary>
public sealed class SupervisorOptions
{
    /// <summary>
    /// The simulator's state folder. Each module gets <c>modules/{id}/</c> (passed as its <c>StateDirectory</c>),
    /// its output goes to <c>logs/{id}.log</c>, and relative Docker binds become <c>volumes/{name}/</c>. Required.
    /// </summary>
    [Required]
    public string StateDirectory { get; set; } = "";

    /// <summary>The PEM root modules trust for the hub's TLS certificate, passed as <c>EdgeModuleCACertificateFile</c>. Required.</summary>
    [Required]
    public string CaCertificatePath { get; set; } = "";

    /// <summary>
    /// A path inside the repository; the root is the nearest folder above it holding <c>IoTEdgeSolution.sln</c>.
    /// Modules without an explicit launcher run from <c>artifacts/bin/{Id}/{release|debug}/{Id}.dll</c>. Default: the current directory.
    /// </summary>
    public string? RepoRoot { get; set; }

    /// <summary>Explicit module id → process map; takes precedence over the repository's built modules. Default: empty.</summary>
    public IDictionary<string, ModuleLaunchSpec> Launchers { get; set; } = new Dictionary<string, ModuleLaunchSpec>(StringComparer.Ordinal);

    /// <summary>First restart delay; each further restart doubles it (edgeAgent's cool-off). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan RestartBackoffBase { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest restart delay. Default 5 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan RestartBackoffMax { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A process that ran at least this long before exiting starts the back-off from the base again (edgeAgent's intensive-care time). Default 10 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan RestartCountResetAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a stopping module gets after SIGTERM before SIGKILL (Docker's default stop timeout). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often running modules' memory (VmRSS/VmHWM) is sampled so the peak survives the process. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan MemorySampleInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A module's log file is rolled to <c>{id}.log.1</c> when it reaches this size. Default 10 MiB.</summary>
    [Range(4096, long.MaxValue)]
    public long MaxLogFileBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Receives every stdout/stderr line of every module (module id, line), e.g. to print them prefixed. Default: none.</summary>
    public Action<string, string>? OnOutput { get; set; }
}

/// <summary>How to start one module as a local process (the no-Docker stand-in for its image).</summary>
/// <param name="FileName">The executable (a path, or a name looked up on PATH).</param>
/// <param name="Arguments">Arguments, passed one by one (no shell quoting).</param>
/// <param name="WorkingDirectory">The working folder; null means the module's state folder.</param>
public sealed record ModuleLaunchSpec(string FileName, IReadOnlyList<string> Arguments, string? WorkingDirectory = null);
