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
    public string Name => "hub";

    public string Usage =>
        "hub [--deployment <manifest.json> | --modules a,b] [--state <dir>] [--device-id <id>] [--mqtt-port 8883] [--api-port 0]\n" +
        "                       run the local simulator hub alone; prints each module's EdgeHubConnectionString and the CA path\n" +
        "hub inject <module> <input> <file> [--content-type <type>] [--state <dir> | --hub <url>]\n" +
        "                       put a message into a module input of a running hub";

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var (positional, options) = HubApi.Split(args);
        if (positional is ["inject", var module, var input, var file])
        {
            return await InjectAsync(module, input, file, options, ct).ConfigureAwait(false);
        }

        if (positional.Length > 0)
        {
            await Console.Error.WriteLineAsync("usage: edge " + Usage).ConfigureAwait(false);
            return 2;
        }

        var sim = new SimulatorOptions { StateDirectory = options.GetValueOrDefault("state") ?? HubApi.DefaultStateDirectory, MqttPort = 8883 };
        if (options.TryGetValue("device-id", out var device))
        {
            sim.DeviceId = device;
        }

        if (!TryPort(options, "mqtt-port", sim.MqttPort, out var mqttPort) || !TryPort(options, "api-port", 0, out var apiPort))
        {
            await Console.Error.WriteLineAsync("edge: --mqtt-port and --api-port must be 0..65535").ConfigureAwait(false);
            return 2;
        }

        sim.MqttPort = mqttPort;
        sim.ApiPort = apiPort;
        if (options.TryGetValue("modules", out var modules))
        {
            foreach (var m in modules.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                sim.Modules.Add(m);
            }
        }

        if (options.TryGetValue("deployment", out var manifest))
        {
            var (content, error) = LoadModulesContent(manifest);
            if (content is null)
            {
                await Console.Error.WriteLineAsync($"edge: {manifest}: {error}").ConfigureAwait(false);
                return 2;
            }

            sim.Deployment = content;
        }

        using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        }).SetMinimumLevel(LogLevel.Information).AddFilter("Microsoft", LogLevel.Warning));
        EdgeHubSimulator hub;
        try
        {
            hub = await EdgeHubSimulator.StartAsync(sim, loggerFactory, TimeProvider.System, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.ComponentModel.DataAnnotations.ValidationException or IOException or System.Net.Sockets.SocketException)
        {
            await Console.Error.WriteLineAsync($"edge: cannot start the hub: {ex.Message}").ConfigureAwait(false);
            return 1;
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

        return 0;
    }

    private static bool TryPort(Dictionary<string, string> options, string name, int fallback, out int port)
    {
        port = fallback;
        return !options.TryGetValue(name, out var s) || (int.TryParse(s, out port) && port is >= 0 and <= 65535);
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
            Console.WriteLine();
            Console.WriteLine($"Module '{module}': set these in its environment to run it natively:");
            Console.WriteLine($"  EdgeHubConnectionString={hub.GetModuleConnectionString(module)}");
            Console.WriteLine($"  EdgeModuleCACertificateFile={hub.CaCertificatePath}");
            Console.WriteLine($"  EdgeHubPort={hub.MqttPort}");
        }
    }

    private static async Task<int> InjectAsync(string module, string input, string file, Dictionary<string, string> options, CancellationToken ct)
    {
        byte[] body;
        try
        {
            body = await File.ReadAllBytesAsync(file, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"edge: {file}: {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        var contentType = options.GetValueOrDefault("content-type") ?? (file.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? "application/json" : null);
        using var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        return await HubApi.SendAsync(options, HttpMethod.Post,
            $"simulator/modules/{Uri.EscapeDataString(module)}/inputs/{Uri.EscapeDataString(input)}", content, ct).ConfigureAwait(false);
    }
}
