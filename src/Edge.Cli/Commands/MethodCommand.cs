using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Cli.Fleet;

namespace Edge.Cli;

/// <summary><c>edge method invoke</c>: call a module's direct method through IoT Hub.</summary>
internal sealed class MethodCommand : ICommand
{
    private const string UsageText =
        "method invoke <device> <module> <method> [payload-json]\n" +
        "  [--timeout s] [--connect-timeout s]\n" + FleetConnection.Usage;

    private static readonly string[] InvokeExamples =
    [
        "edge method invoke my-device Inference getStatus",
        "edge method invoke my-device CameraCapture snapshot '{\"cameraId\":\"cam1\"}' --timeout 10",
    ];

    public string Name => "method";

    public string Description => "call a module's direct method through IoT Hub (or the local hub)";

    public string Usage => UsageText;

    public IReadOnlyList<Subcommand> Subcommands =>
        [new("invoke", "call a direct method and print its status and payload (exit 1 unless 2xx)", UsageText, InvokeExamples)];

    public Task<int> RunAsync(string[] args, CancellationToken ct) => FleetConnection.RunAsync(args.Length > 0 && args[0] == "invoke" ? "method invoke" : "method", async () =>
    {
        if (args.Length == 0 || args[0] != "invoke")
        {
            throw new UsageException(args.Length == 0 ? "give a subcommand: invoke" : $"unknown subcommand '{args[0]}' (the subcommand is invoke)");
        }

        var line = CommandLine.Parse(args[1..], [.. FleetConnection.Options, "timeout", "connect-timeout"], []);
        if (line.Positionals.Count is < 3 or > 4)
        {
            throw new UsageException("give <device> <module> <method> [payload-json]");
        }

        JsonNode? payload = null;
        if (line.Positionals.Count == 4)
        {
            try
            {
                payload = JsonNode.Parse(line.Positionals[3]);
            }
            catch (JsonException ex)
            {
                throw new UsageException($"the payload is not JSON: {ex.Message}");
            }
        }

        var timeout = line.GetInt("timeout", 30, 5, 300);
        var connectTimeout = line.GetInt("connect-timeout", 0, 0, 300);
        using var loggers = FleetConnection.CreateLoggers();
        using var client = FleetConnection.CreateClient(line, loggers);
        var result = await client.InvokeModuleMethodAsync(line.Positionals[0], line.Positionals[1], line.Positionals[2], payload, timeout, connectTimeout, ct).ConfigureAwait(false);
        await Console.Out.WriteLineAsync($"status {result.Status}").ConfigureAwait(false);
        await Console.Out.WriteLineAsync(result.Payload?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? "null").ConfigureAwait(false);
        return result.Status is >= 200 and < 300 ? 0 : 1;
    });
}
