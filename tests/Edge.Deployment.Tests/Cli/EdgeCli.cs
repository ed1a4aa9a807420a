using System.Diagnostics;
using System.Text;

namespace Edge.Deployment.Tests.Cli;

/// <summary>Runs the real <c>edge</c> command (artifacts/bin/Edge.Cli/&lt;config&gt;/edge.dll) as a child process.</summary>
internal static class EdgeCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string Dll
    {
        get
        {
            // artifacts/bin/Edge.Deployment.Tests/<config>/ → artifacts/bin/Edge.Cli/<config>/edge.dll
            var config = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
            var dll = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "Edge.Cli", config, "edge.dll"));
            return File.Exists(dll) ? dll : throw new FileNotFoundException("build src/Edge.Cli first", dll);
        }
    }

    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string?> environment, string? workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var name in new[] { "IOTHUB_CONNECTION_STRING", "IOTHUB_ENDPOINT" })
        {
            psi.Environment.Remove(name);
        }

        foreach (var (k, v) in environment)
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

    public static string Describe(Result r)
    {
        var sb = new StringBuilder();
        sb.Append("exit ").Append(r.ExitCode).Append("\nstdout:\n").Append(r.Stdout).Append("\nstderr:\n").Append(r.Stderr);
        return sb.ToString();
    }
}
