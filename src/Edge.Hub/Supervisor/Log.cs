using Microsoft.Extensions.Logging;

namespace Edge.Hub.Supervisor;

/// <summary>Supervisor log messages; EventIds 2800–2899 (the supervisor's slice of the hub's 2000–2999 range).</summary>
internal static partial class Log
{
    [LoggerMessage(2800, LogLevel.Information, "Module {ModuleId} started: pid {Pid}, {FileName} {Arguments}")]
    public static partial void ModuleStarted(ILogger logger, string moduleId, int pid, string fileName, string arguments);

    [LoggerMessage(2801, LogLevel.Warning, "Module {ModuleId} exited with code {ExitCode} after {RunTime}; restart policy {Policy}")]
    public static partial void ModuleExited(ILogger logger, string moduleId, int exitCode, TimeSpan runTime, RestartPolicy policy);

    [LoggerMessage(2802, LogLevel.Information, "Module {ModuleId} restarts in {Delay} (restart {RestartCount})")]
    public static partial void ModuleBackoff(ILogger logger, string moduleId, TimeSpan delay, int restartCount);

    [LoggerMessage(2803, LogLevel.Information, "Module {ModuleId} stopped (exit code {ExitCode})")]
    public static partial void ModuleStopped(ILogger logger, string moduleId, int? exitCode);

    [LoggerMessage(2804, LogLevel.Error, "Module {ModuleId} cannot be started: {Error}")]
    public static partial void ModuleStartFailed(ILogger logger, string moduleId, string error);

    [LoggerMessage(2805, LogLevel.Warning, "Module {ModuleId} did not exit within {Grace} of SIGTERM; sending SIGKILL")]
    public static partial void StopGraceExpired(ILogger logger, string moduleId, TimeSpan grace);

    [LoggerMessage(2806, LogLevel.Warning, "Rejected $edgeAgent desired properties: {Errors}")]
    public static partial void DesiredRejected(ILogger logger, string errors);

    [LoggerMessage(2807, LogLevel.Information, "Applying $edgeAgent: start {Added}, recreate {Changed}, remove {Removed}, stop {Stopped}")]
    public static partial void Applying(ILogger logger, string added, string changed, string removed, string stopped);

    [LoggerMessage(2808, LogLevel.Debug, "Module {ModuleId}: createOptions {Keys} are Docker-specific and ignored locally")]
    public static partial void CreateOptionsIgnored(ILogger logger, string moduleId, string keys);

    [LoggerMessage(2809, LogLevel.Information, "Module {ModuleId}: volume {Source} → {HostPath} (the module sees it there, not at {Target})")]
    public static partial void VolumeCreated(ILogger logger, string moduleId, string source, string hostPath, string target);

    [LoggerMessage(2810, LogLevel.Debug, "Module {ModuleId}: bind of host path {Source} (container path {Target}) is not created locally")]
    public static partial void HostBindSkipped(ILogger logger, string moduleId, string source, string target);

    [LoggerMessage(2811, LogLevel.Warning, "Module {ModuleId}: manifest env {Name} is overridden by the simulator")]
    public static partial void EnvOverridden(ILogger logger, string moduleId, string name);

    [LoggerMessage(2812, LogLevel.Warning, "Module {ModuleId} killed with SIGKILL on request")]
    public static partial void ModuleKilled(ILogger logger, string moduleId);

    [LoggerMessage(2813, LogLevel.Warning, "A StatusChanged or OnOutput handler threw")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(2814, LogLevel.Error, "Supervision of module {ModuleId} failed")]
    public static partial void SupervisionFailed(ILogger logger, string moduleId, Exception exception);

    [LoggerMessage(2815, LogLevel.Warning, "Module {ModuleId}: cannot write its log file {Path}")]
    public static partial void LogFileFailed(ILogger logger, string moduleId, string path, Exception exception);
}
