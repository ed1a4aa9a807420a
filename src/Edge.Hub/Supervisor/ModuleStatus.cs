using System.Globalization;
using System.Text.Json.Nodes;

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
    string? Error)
{
    /// <summary>
    /// A fixed-width table of modules (id, status, pid, restarts, last exit code, current and peak RSS, error), e.g. for
    /// the <c>./edge up</c> summary. Sizes in MiB; <c>-</c> where unknown.
    /// </summary>
    public static string FormatTable(IEnumerable<ModuleStatus> modules)
    {
        string[] header = ["MODULE", "STATUS", "PID", "RESTARTS", "EXIT", "RSS", "PEAK RSS", "ERROR"];
        var rows = modules.Select(m => new[]
        {
            m.ModuleId,
            m.RuntimeStatus,
            m.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-",
            m.RestartCount.ToString(CultureInfo.InvariantCulture),
            m.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-",
            Mib(m.RssBytes),
            Mib(m.PeakRssBytes),
            m.Error ?? "",
        }).Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length - 1).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var sb = new System.Text.StringBuilder();
        foreach (var r in rows)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                sb.Append(r[i].PadRight(widths[i] + 2));
            }

            sb.Append(r[^1]).Append('\n');
        }

        return string.Join('\n', sb.ToString().Split('\n').Select(l => l.TrimEnd()));

        static string Mib(long? bytes) => bytes is { } b ? (b / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB" : "-";
    }

    /// <summary>
    /// This status as edgeAgent reports <c>modules.{id}</c>: <c>runtimeStatus</c>, <c>statusDescription</c> (the error),
    /// <c>exitCode</c>, <c>startTimeUtc</c>, <c>lastExitTimeUtc</c>, <c>restartCount</c>; plus the simulator's
    /// <c>pid</c>, <c>rssBytes</c> and <c>peakRssBytes</c>. Unknown values are left out.
    /// </summary>
    public JsonObject ToReportedJson()
    {
        var o = new JsonObject { ["runtimeStatus"] = RuntimeStatus };
        if (Error is not null)
        {
            o["statusDescription"] = Error;
        }

        if (ExitCode is { } code)
        {
            o["exitCode"] = code;
        }

        if (StartTimeUtc is { } start)
        {
            o["startTimeUtc"] = start.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        }

        if (LastExitTimeUtc is { } exit)
        {
            o["lastExitTimeUtc"] = exit.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
        }

        o["restartCount"] = RestartCount;
        if (Pid is { } pid)
        {
            o["pid"] = pid;
        }

        if (RssBytes is { } rss)
        {
            o["rssBytes"] = rss;
        }

        if (PeakRssBytes is { } peak)
        {
            o["peakRssBytes"] = peak;
        }

        return o;
    }
}

/// <summary>The <see cref="ModuleStatus.RuntimeStatus"/> values (edgeAgent's reported <c>runtimeStatus</c> strings).</summary>
public static class RuntimeStatuses
{
    public const string Running = "running";
    public const string Stopped = "stopped";
    public const string Failed = "failed";
    public const string Backoff = "backoff";
}
