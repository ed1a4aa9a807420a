using Edge.Cli.Fleet;
using Edge.Deployment.IoTHub;

namespace Edge.Cli;

/// <summary>
/// <c>edge monitor</c>: print what reaches <c>$upstream</c>, as it arrives: the simulator's feed, or with <c>--hub</c> a real
/// IoT Hub's Event Hub-compatible endpoint (<see cref="EventHubEndpoint"/>).
/// </summary>
internal sealed class MonitorCommand : ICommand
{
    private const string UsageText =
        "monitor [--module <id>] [--output <name>] [--recent] [--count N] [--json]\n" + FleetConnection.Usage + "\n" +
        "  reads the simulator's $upstream feed (the local hub, or --endpoint)\n" +
        "monitor --hub <IoT Hub connection string> [--consumer-group <name>] [filters as above]\n" +
        "  reads a real IoT Hub's Event Hub-compatible endpoint (hub-level policy; from the end of\n" +
        "  each partition, --recent: from the earliest event kept; consumer group default $Default)";

    public string Name => "monitor";

    public string Description => "print the messages that reach $upstream, as they arrive";

    public string Usage => UsageText;

    public IReadOnlyList<string> Examples =>
    [
        "edge monitor                                    # the running `edge up` or `edge hub`",
        "edge monitor --module Inference --output detections --count 10 --json",
        "edge monitor --recent --state .edge/up/hub",
        "edge monitor --hub \"$IOTHUB_CONNECTION_STRING\" --module Inference --count 5",
    ];

    public Task<int> RunAsync(string[] args, CancellationToken ct) => FleetConnection.RunAsync("monitor", async () =>
    {
        var line = CommandLine.Parse(args, [.. FleetConnection.Options, "module", "output", "count", "hub", "consumer-group"], ["recent", "json"]);
        if (line.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{line.Positionals[0]}'");
        }

        var hub = line.Get("hub");
        if (hub is null && line.Get("consumer-group") is not null)
        {
            throw new UsageException("--consumer-group needs --hub <IoT Hub connection string>");
        }

        if (hub is null && !FleetConnection.UsesLocalHub(line) && line.Get("endpoint") is null && Environment.GetEnvironmentVariable("IOTHUB_ENDPOINT") is not { Length: > 0 })
        {
            throw new UsageException("monitor reads the simulator's upstream feed: pass --endpoint http://127.0.0.1:<port> or set IOTHUB_ENDPOINT, or --hub <connection string> for a real IoT Hub");
        }

        var module = line.Get("module");
        var output = line.Get("output");
        var count = line.GetInt("count", 0, 0, int.MaxValue);
        var json = line.Has("json");
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

        if (hub is not null)
        {
            IoTHubConnectionString cs;
            try
            {
                cs = IoTHubConnectionString.Parse(hub);
            }
            catch (FormatException ex)
            {
                throw new UsageException("--hub: " + ex.Message);
            }

            var consumerGroup = line.Get("consumer-group") ?? "$Default";
            var endpoint = await EventHubEndpoint.ResolveAsync(cs, null, TimeProvider.System, ct).ConfigureAwait(false);
            await Console.Error.WriteLineAsync($"edge monitor: reading {endpoint.NamespaceHost}/{endpoint.EventHubName} (consumer group {consumerGroup})").ConfigureAwait(false);
            try
            {
                await foreach (var e in endpoint.ReadAsync(consumerGroup, line.Has("recent"), ct).ConfigureAwait(false))
                {
                    if (await PrintAsync(e).ConfigureAwait(false))
                    {
                        return 0;
                    }
                }
            }
            catch (Azure.Messaging.EventHubs.EventHubsException ex) when (!ct.IsCancellationRequested)
            {
                throw new IoTHubException($"reading the Event Hub-compatible endpoint failed ({ex.Reason}): {ex.Message}", ex);
            }

            return 0;
        }

        using var loggers = FleetConnection.CreateLoggers();
        using var client = FleetConnection.CreateClient(line, loggers);
        var monitor = new UpstreamMonitor(client, logger: Microsoft.Extensions.Logging.LoggerFactoryExtensions.CreateLogger<UpstreamMonitor>(loggers));

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
