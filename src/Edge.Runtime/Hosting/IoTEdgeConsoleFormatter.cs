using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Edge.Runtime.Hosting;

/// <summary>
/// Console lines in the format of IoT Edge's own modules (edgeHub, edgeAgent), led by the syslog severity that
/// <c>GetModuleLogs</c>/<c>UploadModuleLogs</c> and <c>iotedge logs</c> filter on:
/// <c>&lt;6&gt; 2024-01-01 12:00:00.000 +00:00 [INF] [CaptureService] - message</c>. An exception follows on its own lines,
/// each with the same prefix, so a severity filter keeps a stack trace with its entry.
/// </summary>
internal sealed class IoTEdgeConsoleFormatter(TimeProvider time) : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "iotedge";

    /// <summary>RFC 5424 severity: critical 2, error 3, warning 4, information 6, debug and trace 7.</summary>
    public static int SyslogSeverity(LogLevel level) => level switch
    {
        LogLevel.Critical => 2,
        LogLevel.Error => 3,
        LogLevel.Warning => 4,
        LogLevel.Information => 6,
        _ => 7,
    };

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }

        var category = logEntry.Category;
        var dot = category.LastIndexOf('.');
        var prefix = string.Create(
            CultureInfo.InvariantCulture,
            $"<{SyslogSeverity(logEntry.LogLevel)}> {time.GetUtcNow():yyyy-MM-dd HH:mm:ss.fff zzz} [{Abbreviation(logEntry.LogLevel)}] [{(dot >= 0 ? category[(dot + 1)..] : category)}] - ");
        WriteLines(textWriter, prefix, message ?? "");
        if (logEntry.Exception is not null)
        {
            WriteLines(textWriter, prefix, logEntry.Exception.ToString());
        }
    }

    private static void WriteLines(TextWriter writer, string prefix, string text)
    {
        foreach (var line in text.Split('\n'))
        {
            writer.Write(prefix);
            writer.Write(line.TrimEnd('\r'));
            writer.Write('\n');
        }
    }

    private static string Abbreviation(LogLevel level) => level switch
    {
        LogLevel.Trace => "VRB",
        LogLevel.Debug => "DBG",
        LogLevel.Information => "INF",
        LogLevel.Warning => "WRN",
        LogLevel.Error => "ERR",
        LogLevel.Critical => "FTL",
        _ => "???",
    };
}
