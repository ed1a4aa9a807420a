namespace Edge.Hub.Supervisor;

/// <summary>
/// One module's state as the supervisor sees it, shaped like edgeAgent's reported <c>modules.{id}</c> section.
/// </summary>
/// <param name="ModuleId">The key under <c>modules</c> in the deployment.</param>
/// <param name="RuntimeStatus"><c>running</c>, <c>stopped</c>, <c>failed</c> or <c>backoff</c> (see <see cref="RuntimeStatuses"/>).</param>
/// <param name="ExitCode">The last exit code (128 + signal for a process killed by a signal), or null before the first exit.</param>
/// <param name="Pid">The process id while a process is alive, else null.</param>
/// <param name="StartTimeUtc">When the current (or last) process was started.</param>
/// <param name="LastExitTimeUtc">When the last process exited.</param>
/// <param name="RestartCount">Restarts made by the restart policy since the module was (re)deployed; reset after a stable run.</param>
/// <param name="RssBytes">Current resident set size (VmRSS) of a running process, else null.</param>
/// <param name="PeakRssBytes">Highest VmHWM seen for this module across its runs (kept after it exits), or null if never sampled.</param>
/// <param name="Error">Why the module is not running as desired (e.g. no local build), or null.</param>
public sealed record ModuleStatus(
    string ModuleId,
    string RuntimeStatus,
    int? ExitCode,
    int? Pid,
    DateTimeOffset? StartTimeUtc,
    DateTimeOffset? LastExitTimeUtc,
    int RestartCount,
    long? RssBytes,
    long? PeakRssBytes,
    string? Error);

/// <summary>The <see cref="ModuleStatus.RuntimeStatus"/> values (edgeAgent's reported <c>runtimeStatus</c> strings).</summary>
public static class RuntimeStatuses
{
    public const string Running = "running";
    public const string Stopped = "stopped";
    public const string Failed = "failed";
    public const string Backoff = "backoff";
}
