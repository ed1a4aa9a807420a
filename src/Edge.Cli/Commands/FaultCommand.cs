using Edge.Cli.Fleet;

namespace Edge.Cli;

/// <summary><c>edge fault ...</c>: fault injection against a running simulator hub through its API.</summary>
internal sealed class FaultCommand : ICommand
{
    private const string Target = "  [--state <dir> | --hub <url>]   (default: the running `edge up` hub, then `edge hub`)";

    public string Name => "fault";

    public string Description => "inject faults into a running hub (cloud offline, latency, dropped links)";

    public string Usage =>
        "fault upstream offline|online\n" +
        "fault latency <ms>\n" +
        "fault drop <module>\n" +
        "fault restart\n" +
        Target;

    public IReadOnlyList<Subcommand> Subcommands =>
    [
        new("upstream", "take the simulator's $upstream offline or bring it back online", "fault upstream offline|online\n" + Target,
            ["edge fault upstream offline", "edge fault upstream online --state .edge/up/hub"]),
        new("latency", "add latency to every upstream delivery (0 removes it)", "fault latency <ms>\n" + Target, ["edge fault latency 250"]),
        new("drop", "drop a module's MQTT connection (it reconnects)", "fault drop <module>\n" + Target, ["edge fault drop Inference"]),
        new("restart", "restart the hub's broker (state kept)", "fault restart\n" + Target, ["edge fault restart"]),
    ];

    public Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var name = args.Length > 0 && Subcommands.Any(s => s.Name == args[0]) ? "fault " + args[0] : "fault";
        return FleetConnection.RunAsync(name, async () =>
        {
            var line = CommandLine.Parse(args, HubApi.Options, []);
            string path = line.Positionals switch
            {
                [] => throw new UsageException("give a subcommand: upstream, latency, drop or restart"),
                ["upstream", "offline" or "online"] => $"simulator/faults/upstream/{line.Positionals[1]}",
                ["upstream", ..] => throw new UsageException("give offline or online"),
                ["latency", var ms] when int.TryParse(ms, out var v) && v >= 0 => $"simulator/faults/latency/{v}",
                ["latency", var ms] => throw new UsageException($"latency takes milliseconds (a whole number, 0 or more), not '{ms}'"),
                ["latency"] => throw new UsageException("give the latency in milliseconds"),
                ["drop", var module] => $"simulator/faults/drop/{Uri.EscapeDataString(module)}",
                ["drop"] => throw new UsageException("give the module whose connection to drop"),
                ["restart"] => "simulator/faults/restart",
                [var sub, ..] when !Subcommands.Any(s => s.Name == sub) => throw new UsageException($"unknown subcommand '{sub}' (upstream, latency, drop or restart)"),
                _ => throw new UsageException($"unexpected argument '{line.Positionals[^1]}'"),
            };
            return await HubApi.SendAsync(line, HttpMethod.Post, path, null, ct).ConfigureAwait(false);
        });
    }
}

/// <summary>
/// Calls the API of a running simulator hub with an iothubowner SAS token: the hub <see cref="LocalHub"/> finds (or the one in
/// <c>--state &lt;dir&gt;</c>), at <c>--hub &lt;url&gt;</c> when given.
/// </summary>
internal static class HubApi
{
    /// <summary>The options that pick the hub.</summary>
    public static readonly string[] Options = ["state", "hub"];

    /// <summary>Where <c>edge hub</c> keeps its state unless told otherwise.</summary>
    public static string DefaultStateDirectory => LocalHub.StandaloneStateDirectory;

    public static async Task<int> SendAsync(CommandLine line, HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        var (info, state) = LocalHub.Find(line.Get("state"));
        Uri baseUri;
        if (line.Get("hub") is { } hub)
        {
            baseUri = Uri.TryCreate(hub.TrimEnd('/') + "/", UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
                ? u
                : throw new UsageException($"--hub must be an http(s) URL such as http://127.0.0.1:8080, not '{hub}'");
        }
        else
        {
            baseUri = info.ApiUri;
        }

        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method, path) { Content = content };
        info.Authorize(request, TimeProvider.System);
        try
        {
            using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync($"edge: the hub answered {(int)response.StatusCode} {response.ReasonPhrase}: {body}").ConfigureAwait(false);
                return ExitCodes.Failed;
            }

            Console.WriteLine(body.Length > 0 ? body : $"ok ({(int)response.StatusCode})");
            return ExitCodes.Ok;
        }
        catch (HttpRequestException ex)
        {
            throw new HubNotFoundException($"cannot reach the hub of {state} at {baseUri} ({ex.Message}): is it running? start 'edge up' or 'edge hub'");
        }
    }
}
