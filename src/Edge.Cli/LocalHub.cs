using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Hub;

namespace Edge.Cli;

/// <summary>
/// Finds the local simulator hub a command talks to when no IoT Hub connection string is given. One rule for every command
/// (docs/cli.md, "Which hub"): <c>--state &lt;dir&gt;</c>, else <c>$EDGE_HUB_STATE</c>, else the running <c>edge up</c> hub of
/// the repository around the current directory (<c>.edge/up/hub</c>), else the running standalone <c>edge hub</c>
/// (<c>~/.local/share/edge/hub</c>). A hub is running when the process that wrote its <c>hub.json</c> is alive.
/// </summary>
internal static class LocalHub
{
    /// <summary>Where <c>edge hub</c> keeps its state unless told otherwise: <c>$EDGE_HUB_STATE</c> or <c>~/.local/share/edge/hub</c>.</summary>
    public static string StandaloneStateDirectory =>
        Environment.GetEnvironmentVariable("EDGE_HUB_STATE") is { Length: > 0 } s
            ? s
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "edge", "hub");

    /// <summary>The state directory of the <c>edge up</c> hub of the repository around <paramref name="directory"/>, if in one.</summary>
    public static string? UpStateDirectory(string directory) =>
        RepoRoot(directory) is { } repo ? Path.Combine(repo, ".edge", "up", "hub") : null;

    /// <summary>The repository root (the folder holding IoTEdgeSolution.sln) at or above <paramref name="directory"/>.</summary>
    public static string? RepoRoot(string directory)
    {
        for (var dir = new DirectoryInfo(directory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "IoTEdgeSolution.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    /// <summary>Applies the rule; throws <see cref="HubNotFoundException"/> naming the places it looked and what to do.</summary>
    public static (HubInfo Info, string StateDirectory) Find(string? explicitState) =>
        Find(explicitState ?? Environment.GetEnvironmentVariable("EDGE_HUB_STATE"), Environment.CurrentDirectory, StandaloneStateDirectory);

    /// <summary>The rule with its inputs explicit: a chosen state directory, the current directory, the standalone hub's directory.</summary>
    internal static (HubInfo Info, string StateDirectory) Find(string? explicitState, string currentDirectory, string standaloneDirectory)
    {
        if (explicitState is { Length: > 0 } chosen)
        {
            return TryLoad(chosen, out var info, out var why)
                ? (info!, chosen)
                : throw new HubNotFoundException($"no hub in {chosen} ({why}): start one with 'edge hub --state {chosen}' or 'edge up'");
        }

        var candidates = new List<string>();
        if (UpStateDirectory(currentDirectory) is { } up)
        {
            candidates.Add(up);
        }

        candidates.Add(standaloneDirectory);
        foreach (var dir in candidates)
        {
            if (TryLoad(dir, out var info, out _) && IsRunning(dir))
            {
                return (info!, dir);
            }
        }

        throw new HubNotFoundException(
            $"no running hub found (looked in {string.Join(" and ", candidates)}): start 'edge up' or 'edge hub', or pass --state <dir>");
    }

    private static bool TryLoad(string dir, out HubInfo? info, out string why)
    {
        info = null;
        why = "";
        try
        {
            info = HubInfo.Load(dir);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or InvalidDataException)
        {
            why = ex is FileNotFoundException or DirectoryNotFoundException ? $"no {HubInfo.FileName}" : ex.Message;
            return false;
        }
    }

    /// <summary>True when the process id recorded in <c>hub.json</c> is alive (files of a stopped hub are left behind).</summary>
    internal static bool IsRunning(string dir)
    {
        try
        {
            if (JsonNode.Parse(File.ReadAllText(Path.Combine(dir, HubInfo.FileName)))?["processId"] is not JsonValue v || !v.TryGetValue<int>(out var pid))
            {
                return false;
            }

            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}

/// <summary>No local hub to talk to: exit code 3 with a line saying how to start one.</summary>
internal sealed class HubNotFoundException : Exception
{
    public HubNotFoundException()
    {
    }

    public HubNotFoundException(string message)
        : base(message)
    {
    }

    public HubNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
