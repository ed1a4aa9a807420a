using Edge.Cli.Fleet;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Hub;
using Microsoft.Extensions.Logging;

namespace Edge.Cli;

/// <summary>
/// <c>edge hub</c>: runs the simulator hub alone (iotedgehubdev style) and prints each module's connection settings so a developer can run
/// one module natively under a debugger; <c>edge hub inject</c> puts a message into a module input of a running hub.
/// </summary>
internal sealed class HubCommand : ICommand
{
    private const string RunUsage =
        "hub [--deployment <manifest.json> | --modules a,b] [--state <dir>] [--device-id <id>]\n" +
        "  [--mqtt-port 8883] [--api-port 0]";

    private const string InjectUsage =
        "hub inject <module> <input> <file> [--content-type <type>]\n" +
        "  [--state <dir> | --hub <url>]   (default: the running `edge up` hub, then `edge hub`)";

    private static readonly string[] RunOptions = ["deployment", "modules", "state", "device-id", "mqtt-port", "api-port"];

    public string Name => "hub";

    public string Description => "run the simulator hub alone, to debug a module natively; inject messages";

    public string Usage => RunUsage + "\n" + InjectUsage;

    public IReadOnlyList<string> Examples =>
    [
        "edge hub --modules CameraCapture,Inference   # prints each module's EdgeHubConnectionString",
        "edge hub --deployment config/deployment.amd64.json --mqtt-port 18883",
        "edge hub inject Inference frames frame.jpg --content-type image/jpeg",
    ];

    public IReadOnlyList<Subcommand> Subcommands =>
    [
        new("inject", "put a message (a file's bytes) into a module input of a running hub", InjectUsage,
            ["edge hub inject Inference frames frame.jpg --content-type image/jpeg", "edge hub inject Inference frames msg.json --state .edge/up/hub"]),
    ];

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args.Length > 0 && args[0] == "inject")
        {
            return await FleetConnection.RunAsync("hub inject", async () =>
            {
                var line = CommandLine.Parse(args[1..], ["content-type", .. HubApi.Options], []);
                return line.Positionals is [var module, var input, var file]
                    ? await InjectAsync(module, input, file, line, ct).ConfigureAwait(false)
                    : throw new UsageException("give <module> <input> <file>");
            }).ConfigureAwait(false);
        }

        CommandLine options;
        SimulatorOptions sim;
        try
        {
            options = CommandLine.Parse(args, RunOptions, []);
            if (options.Positionals.Count > 0)
            {
                throw new UsageException($"unknown subcommand '{options.Positionals[0]}' (the subcommand is inject)");
            }

            sim = new SimulatorOptions
            {
                StateDirectory = options.Get("state") ?? HubApi.DefaultStateDirectory,
                MqttPort = options.GetInt("mqtt-port", 8883, 0, 65535),
                ApiPort = options.GetInt("api-port", 0, 0, 65535),
            };
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync(FleetConnection.UsageError("hub", ex.Message)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        if (options.Get("device-id") is { } device)
        {
            sim.DeviceId = device;
        }

        if (options.Get("modules") is { } modules)
        {
            foreach (var m in modules.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                sim.Modules.Add(m);
            }
        }

        if (options.Get("deployment") is { } manifest)
        {
            var (content, error) = LoadModulesContent(manifest);
            if (content is null)
            {
                await Console.Error.WriteLineAsync($"edge hub: {manifest}: {error}").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            sim.Deployment = content;
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        }).SetMinimumLevel(LogLevel.Information).AddFilter("Microsoft", LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Hosting", LogLevel.None)); // a start failure is rethrown and reported in one line below
        EdgeHubSimulator hub;
        try
        {
            hub = await EdgeHubSimulator.StartAsync(sim, loggerFactory, TimeProvider.System, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (PortInUse.TryDescribe(ex, [("--mqtt-port", sim.MqttPort, false), ("--api-port", sim.ApiPort, true)], out var line))
        {
            await Console.Error.WriteLineAsync($"edge hub: {line}").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
        catch (System.ComponentModel.DataAnnotations.ValidationException ex)
        {
            await Console.Error.WriteLineAsync($"edge hub: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Net.Sockets.SocketException)
        {
            await Console.Error.WriteLineAsync($"edge hub: cannot start the hub: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }

        await using (hub.ConfigureAwait(false))
        {
            PrintBanner(hub, sim);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("edge: hub stopping (state kept in " + sim.StateDirectory + ")");
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>Accepts a deployment manifest (<c>{"modulesContent":...}</c> or <c>{"content":{"modulesContent":...}}</c>), already expanded.</summary>
    internal static (JsonObject? Content, string? Error) LoadModulesContent(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            if (text.Contains("${", StringComparison.Ordinal))
            {
                return (null, "the manifest still has ${...} placeholders: expand the template first");
            }

            var root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var content = root?["modulesContent"] ?? root?["content"]?["modulesContent"];
            return content is JsonObject o ? ((JsonObject)o.DeepClone(), null) : (null, "no modulesContent object found");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return (null, ex.Message);
        }
    }

    private static void PrintBanner(EdgeHubSimulator hub, SimulatorOptions sim)
    {
        Console.WriteLine($"Edge simulator hub running for device '{hub.DeviceId}' (Ctrl+C to stop)");
        Console.WriteLine($"  MQTT over TLS : {hub.GatewayHostName}:{hub.MqttPort}");
        Console.WriteLine($"  Cloud API     : {hub.ApiUri}");
        Console.WriteLine($"  CA certificate: {hub.CaCertificatePath}");
        Console.WriteLine($"  Service       : {hub.ServiceConnectionString}");
        Console.WriteLine($"  State         : {sim.StateDirectory}");
        var modules = sim.Modules.Concat(sim.Deployment?.Select(kv => kv.Key).Where(k => !k.StartsWith('$')) ?? []).Distinct(StringComparer.Ordinal);
        foreach (var module in modules)
        {
            var lines = new[]
            {
                $"EdgeHubConnectionString={hub.GetModuleConnectionString(module)}",
                $"EdgeModuleCACertificateFile={hub.CaCertificatePath}",
                $"EdgeHubPort={hub.MqttPort}",
            };
            var envFile = WriteEnvFile(sim.StateDirectory, module, lines);
            Console.WriteLine();
            Console.WriteLine($"Module '{module}': set these in its environment to run it natively (also in {envFile}):");
            foreach (var line in lines)
            {
                Console.WriteLine("  " + line);
            }
        }
    }

    /// <summary>
    /// Writes <c>{state}/env/{module}.env</c> (owner-only: it holds the module's key), the file a debugger's launch settings
    /// read (<c>.vscode/launch.json</c> <c>envFile</c>). Rewritten at every start, so it always matches the running hub.
    /// </summary>
    private static string WriteEnvFile(string stateDirectory, string module, IEnumerable<string> lines)
    {
        var dir = Directory.CreateDirectory(Path.Combine(stateDirectory, "env")).FullName;
        var path = Path.Combine(dir, module + ".env");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(path, new System.Text.UTF8Encoding(false), options))
        {
            foreach (var line in lines)
            {
                writer.WriteLine(line);
            }
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return path;
    }

    private static async Task<int> InjectAsync(string module, string input, string file, CommandLine options, CancellationToken ct)
    {
        byte[] body;
        try
        {
            body = await File.ReadAllBytesAsync(file, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read {file}: {ex.Message}");
        }

        var contentType = options.Get("content-type") ?? (file.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? "application/json" : null);
        using var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        return await HubApi.SendAsync(options, HttpMethod.Post,
            $"simulator/modules/{Uri.EscapeDataString(module)}/inputs/{Uri.EscapeDataString(input)}", content, ct).ConfigureAwait(false);
    }
}
