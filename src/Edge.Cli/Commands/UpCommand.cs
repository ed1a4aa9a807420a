using System.Diagnostics;
using System.Globalization;
using Edge.Cli.Commands.Up;

namespace Edge.Cli.Commands;

/// <summary><c>edge up</c>: the whole solution on the local simulator, detections streamed to the console, a live dashboard.</summary>
internal sealed class UpCommand : ICommand
{
    public string Name => "up";

    public string Usage => """
        up [--source <device|url|file|folder|synthetic>] [--deployment <file>] [--duration <time>]
           [--no-dashboard] [--dashboard-port <port>] [--mqtt-port <port>] [--state <dir>] [--cameras <n>] [--no-build] [--images]
                             run the whole solution locally on the simulator (README)
        """;

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        UpOptions options;
        try
        {
            options = UpOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"edge up: {ex.Message}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        var run = new UpRun(options, Console.Out, Console.Error, TimeProvider.System);
        try
        {
            return await run.RunAsync(ct).ConfigureAwait(false);
        }
        catch (UpException ex)
        {
            await Console.Error.WriteLineAsync($"edge up: {ex.Message}").ConfigureAwait(false);
            return 1;
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
            o = args[i] switch
            {
                "--source" => o with { Source = Next() },
                "--deployment" => o with { Deployment = Next() },
                "--duration" => o with { Duration = ParseDuration(Next()) },
                "--no-dashboard" => o with { Dashboard = false },
                "--no-build" => o with { Build = false },
                "--dashboard-port" => o with { DashboardPort = ParsePort(Next()) },
                "--mqtt-port" => o with { MqttPort = ParsePort(Next()) },
                "--state" => o with { StateDirectory = Next() },
                "--cameras" => o with { Cameras = int.TryParse(Next(), out var n) && n is >= 1 and <= 16 ? n : throw new ArgumentException("--cameras takes 1..16") },
                "--debug" => o with { Configuration = "debug" },
                "--images" => o with { Images = true }, // CameraCapture and Inference as containers (`edge images build` first)
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
        }

        return o;
    }

    /// <summary><c>90</c> or <c>90s</c>, <c>5m</c>, <c>1h</c>, or a TimeSpan (<c>00:01:30</c>).</summary>
    public static TimeSpan ParseDuration(string text)
    {
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

    private static int ParsePort(string text) =>
        int.TryParse(text, out var p) && p is >= 0 and <= 65535 ? p : throw new ArgumentException($"'{text}' is not a port");
}

/// <summary>A failure of <c>edge up</c> with a message that says what to do.</summary>
internal sealed class UpException(string message) : Exception(message);

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
