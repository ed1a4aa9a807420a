using System.Diagnostics;
using System.Text;

namespace Edge.Cli.Tests;

/// <summary>Runs the real <c>edge</c> apphost (built beside this assembly) as a child process, in a clean environment.</summary>
internal static class EdgeProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    public static string Path
    {
        get
        {
            var exe = System.IO.Path.Combine(AppContext.BaseDirectory, "edge");
            return File.Exists(exe) ? exe : throw new FileNotFoundException("the edge apphost is not beside the tests: build tests/Edge.Cli.Tests", exe);
        }
    }

    /// <summary>
    /// Runs <c>edge args</c> in <paramref name="workingDirectory"/> with no IoT Hub variables, <c>EDGE_HUB_STATE</c> set to
    /// <paramref name="hubState"/> (when given), and <paramref name="environment"/> on top.
    /// </summary>
    public static async Task<Result> RunAsync(string workingDirectory, string? hubState, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var name in new[] { "IOTHUB_CONNECTION_STRING", "IOTHUB_ENDPOINT", "EDGE_HUB_STATE" })
        {
            psi.Environment.Remove(name);
        }

        if (hubState is not null)
        {
            psi.Environment["EDGE_HUB_STATE"] = hubState;
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts <c>edge args</c> and leaves it running; output is collected into the returned builder.</summary>
    public static Process Start(string workingDirectory, string hubState, StringBuilder output, params string[] args)
    {
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("IOTHUB_CONNECTION_STRING");
        psi.Environment.Remove("IOTHUB_ENDPOINT");
        psi.Environment["EDGE_HUB_STATE"] = hubState;
        var process = new Process { StartInfo = psi };
        void Append(object? sender, DataReceivedEventArgs e)
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        }

        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
