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

    /// <summary>
    /// The live descendants of <paramref name="pid"/> (children, grandchildren, …) from <c>/proc/*/stat</c>; empty where
    /// /proc is unavailable. A snapshot: callers signal them soon after, so pid reuse is not a practical concern.
    /// </summary>
    public static IReadOnlyList<int> Descendants(int pid)
    {
        var children = new Dictionary<int, List<int>>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var child))
                {
                    continue;
                }

                string stat;
                try
                {
                    stat = File.ReadAllText(Path.Combine(dir, "stat"));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    continue; // exited meanwhile
                }

                if (ParseParent(stat) is { } parent)
                {
                    if (!children.TryGetValue(parent, out var list))
                    {
                        children[parent] = list = [];
                    }

                    list.Add(child);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        var result = new List<int>();
        var queue = new Queue<int>([pid]);
        while (queue.TryDequeue(out var p))
        {
            if (children.TryGetValue(p, out var list))
            {
                foreach (var c in list)
                {
                    result.Add(c);
                    queue.Enqueue(c);
                }
            }
        }

        return result;
    }

    /// <summary>The parent pid from a <c>/proc/{pid}/stat</c> line: <c>pid (comm) state ppid …</c>; comm may hold spaces and parentheses.</summary>
    internal static int? ParseParent(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) ? ppid : null;
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
