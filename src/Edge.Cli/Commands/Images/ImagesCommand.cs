using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Edge.Cli.Commands.Images;

/// <summary>
/// <c>edge images build|test</c>: builds the module images (eng/images/stage.sh on this machine: slim native stack, Native
/// AOT publish, final-stage tree; then the module's Dockerfile with <c>ROOTFS_STAGE=prebuilt</c>) with docker when
/// <c>docker info</c> works, else podman; prints each image's size and layers. <c>test</c> then runs the container end-to-end
/// test (tests/EndToEnd.Tests ContainerImageTests, EDGE_E2E_IMAGES=1) against the simulator. Exit codes: 0 ok, 1 a build or
/// test failed, 2 usage.
/// </summary>
internal sealed class ImagesCommand : ICommand
{
    private static readonly string[] Modules = ["CameraCapture", "Inference"];

    public string Name => "images";

    private const string BuildUsage = "images build [--platform amd64|arm64v8] [--module CameraCapture|Inference]";

    private const string TestUsage = "images test [--no-build] [--filter-class <pattern>]";

    public string Usage => BuildUsage + "\n" + TestUsage;

    public string Description => "build the module images and run them as containers on the simulator";

    public IReadOnlyList<Subcommand> Subcommands =>
    [
        new("build", "build both module images: FROM scratch, AOT executable, slim OpenCV", BuildUsage,
        [
            "edge images build                          # amd64, both modules",
            "edge images build --platform arm64v8 --module Inference",
        ]),
        new("test", "build the amd64 images, then test them as containers on the simulator", TestUsage,
        [
            "edge images test",
            "edge images test --no-build --filter-class '*HappyPathTests*'",
        ]),
    ];

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        // --help is answered by the dispatcher (generated from Subcommands) before a command runs.
        if (args.Length == 0)
        {
            await Console.Error.WriteLineAsync("edge images: missing subcommand: build or test (edge images --help shows the usage)").ConfigureAwait(false);
            return 2;
        }

        var root = FindRepoRoot();
        if (root is null)
        {
            await Console.Error.WriteLineAsync("edge images: run it inside the repository (no IoTEdgeSolution.sln found above the current folder)").ConfigureAwait(false);
            return 2;
        }

        var platform = Option(args, "--platform") ?? "amd64";
        if (platform is not ("amd64" or "arm64v8"))
        {
            await Console.Error.WriteLineAsync($"edge images: --platform must be amd64 or arm64v8, not '{platform}'").ConfigureAwait(false);
            return 2;
        }

        var only = Option(args, "--module");
        if (only is not null && !Modules.Contains(only, StringComparer.Ordinal))
        {
            await Console.Error.WriteLineAsync($"edge images: --module must be CameraCapture or Inference, not '{only}'").ConfigureAwait(false);
            return 2;
        }

        switch (args[0])
        {
            case "build":
                return await BuildAsync(root, platform, only is null ? Modules : [only], ct).ConfigureAwait(false);
            case "test":
                if (!args.Contains("--no-build"))
                {
                    var rc = await BuildAsync(root, "amd64", Modules, ct).ConfigureAwait(false);
                    if (rc != 0)
                    {
                        return rc;
                    }
                }

                return await TestAsync(root, Option(args, "--filter-class") ?? "*ContainerImageTests*", ct).ConfigureAwait(false);
            default:
                await Console.Error.WriteLineAsync($"edge images: unknown subcommand '{args[0]}' (build or test; --help)").ConfigureAwait(false);
                return 2;
        }
    }

    /// <summary>The local tag of a module's image: localhost/&lt;repository name&gt;:&lt;version&gt;-&lt;platform&gt;[suffix].</summary>
    internal static string Tag(string root, string module, string platform)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "modules", module, "module.json")))!;
        var repository = json["image"]!["repository"]!.GetValue<string>();
        var version = json["image"]!["tag"]!["version"]!.GetValue<string>();
        var suffix = Environment.GetEnvironmentVariable("EDGE_IMAGE_TAG_SUFFIX") ?? string.Empty;
        return $"localhost/{repository[(repository.LastIndexOf('/') + 1)..]}:{version}-{platform}{suffix}";
    }

    private static async Task<int> BuildAsync(string root, string platform, IReadOnlyList<string> modules, CancellationToken ct)
    {
        var engine = await EngineAsync(ct).ConfigureAwait(false);
        var arch = platform == "amd64" ? "x64" : "arm64";
        foreach (var module in modules)
        {
            var watch = Stopwatch.StartNew();
            Console.WriteLine($"edge images: {module} ({platform}): staging (native stack, Native AOT publish, final-stage tree)");
            var stage = Path.Combine(root, "artifacts", "images", $"{module}-{arch}");
            if (await RunAsync(root, "eng/images/stage.sh", ["--module", module, "--arch", arch, "--out", stage], null, ct).ConfigureAwait(false) != 0)
            {
                await Console.Error.WriteLineAsync($"edge images: staging {module} failed (see above)").ConfigureAwait(false);
                return 1;
            }

            var tag = Tag(root, module, platform);
            List<string> build = [.. engine[1..], "build", "-f", $"modules/{module}/Dockerfile.{platform}", "--build-arg", "ROOTFS_STAGE=prebuilt",
                "--platform", platform == "amd64" ? "linux/amd64" : "linux/arm64", "-t", tag, "."];
            if (await RunAsync(root, engine[0], build, null, ct).ConfigureAwait(false) != 0)
            {
                await Console.Error.WriteLineAsync($"edge images: {engine[0]} build of {module} failed (see above)").ConfigureAwait(false);
                return 1;
            }

            var size = (await CaptureAsync(root, engine[0], [.. engine[1..], "image", "inspect", "--format", "{{.Size}}", tag], ct).ConfigureAwait(false)).Trim();
            var layers = await CaptureAsync(root, engine[0], [.. engine[1..], "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", tag], ct).ConfigureAwait(false);
            Console.WriteLine($"\n{tag}: {FormatSize(size)} ({watch.Elapsed.TotalSeconds:0} s)");
            foreach (var line in layers.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = line.Split('\t', 2);
                var createdBy = parts.Length > 1 ? parts[1].Replace("/bin/sh -c #(nop) ", string.Empty, StringComparison.Ordinal).Trim() : string.Empty;
                Console.WriteLine($"  {parts[0],10}  {(createdBy.Length > 100 ? createdBy[..100] + "…" : createdBy)}");
            }

            Console.WriteLine();
        }

        return 0;
    }

    private static async Task<int> TestAsync(string root, string filterClass, CancellationToken ct)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["EDGE_E2E_IMAGES"] = "1",
            ["EDGE_E2E_IMAGE_CAMERACAPTURE"] = Tag(root, "CameraCapture", "amd64"),
            ["EDGE_E2E_IMAGE_INFERENCE"] = Tag(root, "Inference", "amd64"),
        };
        Console.WriteLine($"edge images: running tests/EndToEnd.Tests ({filterClass}) with the modules as containers");
        var rc = await RunAsync(root, "dotnet",
            ["test", "--project", "tests/EndToEnd.Tests", "-c", "Release", "--no-progress", "--results-directory", Path.Combine(root, "artifacts", "test-results", "images"),
             "--", "--filter-class", filterClass, "--report-xunit-trx", "--output", "Detailed"], env, ct).ConfigureAwait(false);
        Console.WriteLine(rc == 0 ? "edge images: the images passed" : $"edge images: the image tests failed (exit {rc})");
        return rc == 0 ? 0 : 1;
    }

    /// <summary>docker when a daemon answers <c>docker info</c>, else podman (with the runtime flags this sandbox needs for run).</summary>
    private static async Task<string[]> EngineAsync(CancellationToken ct)
    {
        try
        {
            if (await RunAsync(Directory.GetCurrentDirectory(), "docker", ["info"], null, ct, quiet: true).ConfigureAwait(false) == 0)
            {
                return ["docker"];
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // no docker on PATH
        }

        return ["podman"];
    }

    private static string FormatSize(string bytes) =>
        long.TryParse(bytes, NumberStyles.Integer, CultureInfo.InvariantCulture, out var b) ? $"{b / 1e6:0.0} MB ({b} bytes)" : bytes;

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string? FindRepoRoot()
    {
        var dir = new DirectoryInfo(Directory.GetCurrentDirectory());
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IoTEdgeSolution.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName;
    }

    private static async Task<int> RunAsync(string root, string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env, CancellationToken ct, bool quiet = false)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = root, UseShellExecute = false, RedirectStandardOutput = quiet, RedirectStandardError = quiet };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        Task drain = Task.CompletedTask;
        if (quiet)
        {
            drain = Task.WhenAll(p.StandardOutput.ReadToEndAsync(ct), p.StandardError.ReadToEndAsync(ct));
        }

        try
        {
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
            await drain.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }

        return p.ExitCode;
    }

    private static async Task<string> CaptureAsync(string root, string file, IEnumerable<string> args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = root, UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var text = await p.StandardOutput.ReadToEndAsync(ct).ConfigureAwait(false);
        await p.WaitForExitAsync(ct).ConfigureAwait(false);
        return text;
    }
}

/// <summary><c>edge up --images</c>: CameraCapture and Inference run from their amd64 images (eng/images/container-run.sh) instead of as processes.</summary>
internal static class ImageLauncher
{
    /// <summary>The container launch of <paramref name="moduleId"/>, or null for a module that has no image (it stays a process).</summary>
    public static Edge.Hub.Supervisor.ModuleLaunchSpec? For(string repo, string moduleId)
    {
        var module = new[] { "CameraCapture", "Inference" }.FirstOrDefault(m => string.Equals(m, moduleId, StringComparison.OrdinalIgnoreCase));
        return module is null
            ? null
            : new Edge.Hub.Supervisor.ModuleLaunchSpec(Path.Combine(repo, "eng", "images", "container-run.sh"), [ImagesCommand.Tag(repo, module, "amd64")]);
    }
}
