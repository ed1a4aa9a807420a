using Microsoft.Extensions.Logging;

namespace Edge.Hub.Supervisor;

/// <summary>Supervisor log messages; EventIds 2800–2899 (the supervisor's slice of the hub's 2000–2999 range).</summary>
internal static partial class Log
{
    [LoggerMessage(HubEventIds.ModuleStarted, LogLevel.Information, "Module {ModuleId} started: pid {Pid}, {FileName} {Arguments}")]
    public static partial void ModuleStarted(ILogger logger, string moduleId, int pid, string fileName, string arguments);

    [LoggerMessage(HubEventIds.ModuleExited, LogLevel.Warning, "Module {ModuleId} exited with code {ExitCode} after {RunTime}; restart policy {Policy}")]
    public static partial void ModuleExited(ILogger logger, string moduleId, int exitCode, TimeSpan runTime, RestartPolicy policy);

    [LoggerMessage(HubEventIds.ModuleBackoff, LogLevel.Information, "Module {ModuleId} restarts in {Delay} (restart {RestartCount})")]
    public static partial void ModuleBackoff(ILogger logger, string moduleId, TimeSpan delay, int restartCount);

    [LoggerMessage(HubEventIds.ModuleStopped, LogLevel.Information, "Module {ModuleId} stopped (exit code {ExitCode})")]
    public static partial void ModuleStopped(ILogger logger, string moduleId, int? exitCode);

    [LoggerMessage(HubEventIds.ModuleStartFailed, LogLevel.Error, "Module {ModuleId} cannot be started: {Error}")]
    public static partial void ModuleStartFailed(ILogger logger, string moduleId, string error);

    [LoggerMessage(HubEventIds.StopGraceExpired, LogLevel.Warning, "Module {ModuleId} did not exit within {Grace} of SIGTERM; sending SIGKILL")]
    public static partial void StopGraceExpired(ILogger logger, string moduleId, TimeSpan grace);

    [LoggerMessage(HubEventIds.EdgeAgentDesiredRejected, LogLevel.Warning, "Rejected $edgeAgent desired properties: {Errors}")]
    public static partial void DesiredRejected(ILogger logger, string errors);

    [LoggerMessage(HubEventIds.EdgeAgentApplying, LogLevel.Information, "Applying $edgeAgent: start {Added}, recreate {Changed}, remove {Removed}, stop {Stopped}")]
    public static partial void Applying(ILogger logger, string added, string changed, string removed, string stopped);

    [LoggerMessage(HubEventIds.CreateOptionsIgnored, LogLevel.Debug, "Module {ModuleId}: createOptions {Keys} are Docker-specific and ignored locally")]
    public static partial void CreateOptionsIgnored(ILogger logger, string moduleId, string keys);

    [LoggerMessage(HubEventIds.VolumeCreated, LogLevel.Information, "Module {ModuleId}: volume {Source} → {HostPath} (the module sees it there, not at {Target})")]
    public static partial void VolumeCreated(ILogger logger, string moduleId, string source, string hostPath, string target);

    [LoggerMessage(HubEventIds.HostBindSkipped, LogLevel.Debug, "Module {ModuleId}: bind of host path {Source} (container path {Target}) is not created locally")]
    public static partial void HostBindSkipped(ILogger logger, string moduleId, string source, string target);

    [LoggerMessage(HubEventIds.EnvOverridden, LogLevel.Warning, "Module {ModuleId}: manifest env {Name} is overridden by the simulator")]
    public static partial void EnvOverridden(ILogger logger, string moduleId, string name);

    [LoggerMessage(HubEventIds.ModuleKilled, LogLevel.Warning, "Module {ModuleId} killed with SIGKILL on request")]
    public static partial void ModuleKilled(ILogger logger, string moduleId);

    [LoggerMessage(HubEventIds.SupervisorHandlerFailed, LogLevel.Warning, "A StatusChanged or OnOutput handler threw")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(HubEventIds.SupervisionFailed, LogLevel.Error, "Supervision of module {ModuleId} failed")]
    public static partial void SupervisionFailed(ILogger logger, string moduleId, Exception exception);

    [LoggerMessage(HubEventIds.LogFileFailed, LogLevel.Warning, "Module {ModuleId}: cannot write its log file {Path}")]
    public static partial void LogFileFailed(ILogger logger, string moduleId, string path, Exception exception);
}
