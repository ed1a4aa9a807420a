using Edge.Hub;

namespace Edge.Cli;

/// <summary><c>edge fault ...</c>: fault injection against a running simulator hub through its API.</summary>
internal sealed class FaultCommand : ICommand
{
    public string Name => "fault";

    public string Usage =>
        "fault upstream offline|online   take the simulator's $upstream offline or back online [--state <dir> | --hub <url>]\n" +
        "fault latency <ms>              add latency to every upstream delivery\n" +
        "fault drop <module>             drop a module's MQTT connection\n" +
        "fault restart                   restart the hub's broker (state kept)";

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var (positional, options) = HubApi.Split(args);
        string? path = positional switch
        {
            ["upstream", "offline" or "online"] => $"simulator/faults/upstream/{positional[1]}",
            ["latency", var ms] when int.TryParse(ms, out var v) && v >= 0 => $"simulator/faults/latency/{v}",
            ["drop", var module] => $"simulator/faults/drop/{Uri.EscapeDataString(module)}",
            ["restart"] => "simulator/faults/restart",
            _ => null,
        };
        if (path is null)
        {
            await Console.Error.WriteLineAsync("usage: edge " + Usage.Replace("\n", "\n       edge ", StringComparison.Ordinal)).ConfigureAwait(false);
            return 2;
        }

        return await HubApi.SendAsync(options, HttpMethod.Post, path, null, ct).ConfigureAwait(false);
    }
}

/// <summary>Finds a running hub (<c>--hub &lt;url&gt;</c> and/or the state directory's hub.json) and calls its API with an iothubowner SAS token.</summary>
internal static class HubApi
{
    public static string DefaultStateDirectory =>
        Environment.GetEnvironmentVariable("EDGE_HUB_STATE") is { Length: > 0 } s
            ? s
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "edge", "hub");

    /// <summary>Splits <c>--name value</c> options (and bare <c>--flag</c>s) from positional arguments.</summary>
    public static (string[] Positional, Dictionary<string, string> Options) Split(string[] args)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                var name = args[i][2..];
                var eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0)
                {
                    options[name[..eq]] = name[(eq + 1)..];
                }
                else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    options[name] = args[++i];
                }
                else
                {
                    options[name] = "true";
                }
            }
            else
            {
                positional.Add(args[i]);
            }
        }

        return ([.. positional], options);
    }

    public static async Task<int> SendAsync(Dictionary<string, string> options, HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        var state = options.GetValueOrDefault("state") ?? DefaultStateDirectory;
        HubInfo info;
        try
        {
            info = HubInfo.Load(state);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"edge: no running hub found in {state} ({ex.Message}); start one with 'edge hub' or pass --state <dir>").ConfigureAwait(false);
            return 1;
        }

        var baseUri = options.TryGetValue("hub", out var hub) ? new Uri(hub.TrimEnd('/') + "/") : info.ApiUri;
        using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method, path) { Content = content };
        info.Authorize(request, TimeProvider.System);
        try
        {
            using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                await Console.Error.WriteLineAsync($"edge: hub answered {(int)response.StatusCode} {response.ReasonPhrase}: {body}").ConfigureAwait(false);
                return 1;
            }

            Console.WriteLine(body.Length > 0 ? body : $"ok ({(int)response.StatusCode})");
            return 0;
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"edge: cannot reach the hub at {baseUri}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
