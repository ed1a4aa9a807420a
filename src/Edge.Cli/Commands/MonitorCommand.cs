using Edge.Cli.Fleet;
using Edge.Deployment.IoTHub;

namespace Edge.Cli;

/// <summary><c>edge monitor</c>: print what reaches <c>$upstream</c> on the simulator, as it arrives.</summary>
internal sealed class MonitorCommand : ICommand
{
    private const string UsageText =
        "monitor [--module <id>] [--output <name>] [--recent] [--count N] [--json]\n" + FleetConnection.Usage + "\n" +
        "  reads the simulator's $upstream feed (the local hub, or --endpoint)";

    public string Name => "monitor";

    public string Description => "print the messages that reach $upstream, as they arrive";

    public string Usage => UsageText;

    public IReadOnlyList<string> Examples =>
    [
        "edge monitor                                    # the running `edge up` or `edge hub`",
        "edge monitor --module Inference --output detections --count 10 --json",
        "edge monitor --recent --state .edge/up/hub",
    ];

    public Task<int> RunAsync(string[] args, CancellationToken ct) => FleetConnection.RunAsync("monitor", async () =>
    {
        var line = CommandLine.Parse(args, [.. FleetConnection.Options, "module", "output", "count"], ["recent", "json"]);
        if (line.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{line.Positionals[0]}'");
        }

        if (!FleetConnection.UsesLocalHub(line) && line.Get("endpoint") is null && Environment.GetEnvironmentVariable("IOTHUB_ENDPOINT") is not { Length: > 0 })
        {
            throw new UsageException("monitor reads the simulator's upstream feed: pass --endpoint http://127.0.0.1:<port> or set IOTHUB_ENDPOINT (a real IoT Hub delivers messages through its Event Hubs endpoint)");
        }

        var module = line.Get("module");
        var output = line.Get("output");
        var count = line.GetInt("count", 0, 0, int.MaxValue);
        var json = line.Has("json");
        using var loggers = FleetConnection.CreateLoggers();
        using var client = FleetConnection.CreateClient(line, loggers);
        var monitor = new UpstreamMonitor(client, logger: Microsoft.Extensions.Logging.LoggerFactoryExtensions.CreateLogger<UpstreamMonitor>(loggers));
        var printed = 0;

        bool Matches(UpstreamEvent e) =>
            (module is null || string.Equals(e.SourceModuleId, module, StringComparison.Ordinal))
            && (output is null || string.Equals(e.OutputName, output, StringComparison.Ordinal));

        async Task<bool> PrintAsync(UpstreamEvent e)
        {
            if (!Matches(e))
            {
                return false;
            }

            await Console.Out.WriteLineAsync(json ? System.Text.Json.JsonSerializer.Serialize(e) : e.Format()).ConfigureAwait(false);
            printed++;
            return count > 0 && printed >= count;
        }

        if (line.Has("recent"))
        {
            foreach (var e in await monitor.GetRecentAsync(ct).ConfigureAwait(false))
            {
                if (await PrintAsync(e).ConfigureAwait(false))
                {
                    return 0;
                }
            }
        }

        await foreach (var e in monitor.StreamAsync(ct).ConfigureAwait(false))
        {
            if (await PrintAsync(e).ConfigureAwait(false))
            {
                return 0;
            }
        }

        return 0;
    });
}
