using System.Diagnostics;
using System.Globalization;
using Edge.Cli.Commands.Up;

namespace Edge.Cli.Commands;

/// <summary><c>edge up</c>: the whole solution on the local simulator, detections streamed to the console, a live dashboard.</summary>
internal sealed class UpCommand : ICommand
{
    public string Name => "up";

    public string Usage => """
        up [--source <device|url|file|folder|synthetic>] [--deployment <file>]
          [--duration <time>] [--cameras <n>] [--no-dashboard] [--dashboard-port 8080]
          [--mqtt-port 8883] [--state <dir>] [--no-build] [--debug] [--images]
          ports: 0 = any free port. The hub keeps its state in <state>/hub (default
          .edge/up/hub), where edge twin / method / monitor / fault / hub inject find it.
          --images: CameraCapture and Inference as containers (edge images build first).
        """;

    public string Description => "run the whole solution locally on the simulator, with a live dashboard";

    public IReadOnlyList<string> Examples =>
    [
        "edge up                                   # the sample video, until Ctrl+C",
        "edge up --duration 60s --cameras 2 --source synthetic",
        "edge up --source rtsp://10.0.0.5/stream --dashboard-port 9090 --mqtt-port 18883",
    ];

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        UpOptions options;
        try
        {
            options = UpOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(Fleet.FleetConnection.UsageError("up", ex.Message)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var run = new UpRun(options, Console.Out, Console.Error, TimeProvider.System);
        try
        {
            return await run.RunAsync(ct).ConfigureAwait(false);
        }
        catch (UpException ex)
        {
            await Console.Error.WriteLineAsync($"edge up: {ex.Message}").ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (Exception ex) when (PortInUse.TryDescribe(ex, [("--mqtt-port", options.MqttPort, false), ("--dashboard-port", options.DashboardPort, true)], out var line))
        {
            await Console.Error.WriteLineAsync($"edge up: {line}").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
    }
}

/// <summary>Parsed <c>edge up</c> options.</summary>
internal sealed record UpOptions
{
    public string? Source { get; init; }
    public string? Deployment { get; init; }
    public TimeSpan? Duration { get; init; }
    public bool Dashboard { get; init; } = true;
    public bool Build { get; init; } = true;
    public int DashboardPort { get; init; } = 8080;
    public int MqttPort { get; init; } = 8883;
    public string? StateDirectory { get; init; }
    public int Cameras { get; init; } = 1;
    public string Configuration { get; init; } = "release";
    public bool Images { get; init; }

    public static UpOptions Parse(string[] args)
    {
        var o = new UpOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            if (args[i].StartsWith("--", StringComparison.Ordinal) && args[i].IndexOf('=', StringComparison.Ordinal) is > 2 and var eq)
            {
                // --name=value is --name value.
                args = [.. args[..i], args[i][..eq], args[i][(eq + 1)..], .. args[(i + 1)..]];
            }

            o = args[i] switch
            {
                "--source" => o with { Source = Next() },
                "--deployment" => o with { Deployment = Next() },
                "--duration" => o with { Duration = ParseDuration(Next()) },
                "--no-dashboard" => o with { Dashboard = false },
                "--no-build" => o with { Build = false },
                "--dashboard-port" => o with { DashboardPort = ParsePort("--dashboard-port", Next()) },
                "--mqtt-port" => o with { MqttPort = ParsePort("--mqtt-port", Next()) },
                "--state" => o with { StateDirectory = Next() },
                "--cameras" => o with { Cameras = int.TryParse(Next(), out var n) && n is >= 1 and <= 16 ? n : throw new ArgumentException("--cameras takes a number from 1 to 16") },
                "--debug" => o with { Configuration = "debug" },
                "--images" => o with { Images = true }, // CameraCapture and Inference as containers (`edge images build` first)
                var a when a.StartsWith('-') => throw new ArgumentException($"unknown option {a}"),
                var a => throw new ArgumentException($"unexpected argument '{a}'"),
            };
        }

        return o;
    }

    /// <summary><c>90</c> or <c>90s</c>, <c>5m</c>, <c>1h</c>, or a TimeSpan (<c>00:01:30</c>).</summary>
    public static TimeSpan ParseDuration(string text)
    {
        if (text.Length == 0)
        {
            throw new ArgumentException("--duration needs a time: e.g. 30s, 5m, 1h");
        }

        var unit = text[^1];
        var number = char.IsLetter(unit) ? text[..^1] : text;
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            return unit switch
            {
                'h' => TimeSpan.FromHours(value),
                'm' => TimeSpan.FromMinutes(value),
                's' or (>= '0' and <= '9') => TimeSpan.FromSeconds(value),
                _ => throw new ArgumentException($"--duration '{text}': use e.g. 30s, 5m, 1h"),
            };
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero
            ? span
            : throw new ArgumentException($"--duration '{text}': use e.g. 30s, 5m, 1h");
    }

    private static int ParsePort(string option, string text) =>
        int.TryParse(text, out var p) && p is >= 0 and <= 65535 ? p : throw new ArgumentException($"{option} '{text}' is not a port (0 to 65535; 0 = any free port)");
}

/// <summary>A failure of <c>edge up</c> with a message that says what to do, and its exit code (<see cref="ExitCodes"/>).</summary>
internal sealed class UpException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>Runs child commands (dotnet build, the asset script) with a compact progress line.</summary>
internal static class ChildProcess
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> args, string workingDirectory, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new UpException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
    }
}
