using System.Globalization;
using System.Runtime.InteropServices;

namespace Edge.Hub.Supervisor;

/// <summary>Linux process primitives the BCL lacks: sending SIGTERM and reading memory from <c>/proc</c>.</summary>
internal static partial class ProcessControl
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false if the process is gone or signals are unsupported.</summary>
    public static bool Signal(int pid, int signal)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS() && !OperatingSystem.IsFreeBSD())
        {
            return false;
        }

        return NativeMethods.Kill(pid, signal) == 0;
    }

    /// <summary>VmRSS and VmHWM of a live process in bytes, or null when it is gone or /proc is unavailable.</summary>
    public static (long Rss, long Peak)? ReadMemory(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return ParseStatus(text);
    }

    internal static (long Rss, long Peak)? ParseStatus(string text)
    {
        long? rss = null, hwm = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = ParseKb(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                hwm = ParseKb(line);
            }
        }

        // A zombie has no Vm* lines.
        return rss is { } r ? (r, Math.Max(r, hwm ?? r)) : null;
    }

    private static long? ParseKb(string line)
    {
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : null;
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Kill(int pid, int sig);
    }
}
