using Edge.Deployment.IoTHub;
using Microsoft.Extensions.Logging;

namespace Edge.Cli.Fleet;

/// <summary>
/// How the fleet commands reach IoT Hub: <c>--connection-string</c> or <c>IOTHUB_CONNECTION_STRING</c> (a hub-level policy),
/// and optionally <c>--endpoint</c> or <c>IOTHUB_ENDPOINT</c> to send the same requests to the simulator. With neither, the
/// local simulator hub found by <see cref="LocalHub"/> (a running <c>edge up</c>, else <c>edge hub</c>; <c>--state</c> picks one).
/// </summary>
internal static class FleetConnection
{
    public static readonly string[] Options = ["connection-string", "endpoint", "state", "auth", "host"];

    /// <summary>The connection options, as a continuation usage line.</summary>
    public const string Usage =
        "  [--connection-string <cs>] [--endpoint <url>] [--state <dir>]\n" +
        "  [--auth sas|entra] [--host <hub>.azure-devices.net]\n" +
        "  (or $IOTHUB_CONNECTION_STRING, $IOTHUB_ENDPOINT, $IOTHUB_AUTH, $IOTHUB_HOSTNAME;\n" +
        "  with neither a connection string nor --auth entra: the local hub, a running\n" +
        "  `edge up` first, then `edge hub`)";

    /// <summary>True when neither an option nor the environment names an IoT Hub: the local hub is used.</summary>
    public static bool UsesLocalHub(CommandLine line) =>
        AuthOf(line) == "sas"
        && string.IsNullOrWhiteSpace(line.Get("connection-string") ?? Environment.GetEnvironmentVariable("IOTHUB_CONNECTION_STRING"));

    public static IoTHubServiceClient CreateClient(CommandLine line, ILoggerFactory loggers) => CreateClient(line, loggers, null);

    /// <summary>The client for the command line's hub and auth; <c>--auth entra</c> takes tokens from <paramref name="entraTokens"/> (null: Azure.Identity's DefaultAzureCredential).</summary>
    internal static IoTHubServiceClient CreateClient(CommandLine line, ILoggerFactory loggers, Func<string[], CancellationToken, ValueTask<IoTHubAccessToken>>? entraTokens, HttpMessageHandler? handler = null)
    {
        var auth = AuthOf(line);
        if (auth is not ("sas" or "entra"))
        {
            throw new UsageException($"--auth must be 'sas' (the connection string's key) or 'entra' (Microsoft Entra ID), not '{auth}'");
        }

        var text = line.Get("connection-string") ?? Environment.GetEnvironmentVariable("IOTHUB_CONNECTION_STRING");
        var endpointText = line.Get("endpoint") ?? Environment.GetEnvironmentVariable("IOTHUB_ENDPOINT");
        IoTHubConnectionString cs;
        BearerTokenAuthorization? entra = null;
        if (auth == "entra")
        {
            // Entra needs only the hub's host name: from --host, else the HostName of a connection string if one is set.
            var host = line.Get("host") ?? Environment.GetEnvironmentVariable("IOTHUB_HOSTNAME") ?? HostNameOf(text);
            if (string.IsNullOrWhiteSpace(host) || host.Contains('/', StringComparison.Ordinal) || host.Contains(';', StringComparison.Ordinal))
            {
                throw new UsageException("--auth entra needs the hub: pass --host <hub>.azure-devices.net or set IOTHUB_HOSTNAME");
            }

            cs = new IoTHubConnectionString(host, "", "");
            entra = new BearerTokenAuthorization(entraTokens ?? EntraTokenSource.Create());
        }
        else
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                // No hub named: the local simulator (a running `edge up` first, then `edge hub`).
                try
                {
                    var (info, _) = LocalHub.Find(line.Get("state"));
                    text = info.ServiceConnectionString;
                    endpointText ??= info.ApiUri.ToString();
                }
                catch (HubNotFoundException ex)
                {
                    throw new HubNotFoundException(
                        "no connection string (--connection-string or IOTHUB_CONNECTION_STRING) and " + ex.Message);
                }
            }

            try
            {
                cs = IoTHubConnectionString.Parse(text);
            }
            catch (FormatException ex)
            {
                throw new UsageException(ex.Message);
            }
        }

        Uri? endpoint = null;
        if (!string.IsNullOrWhiteSpace(endpointText)
            && (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            throw new UsageException($"--endpoint must be an http(s) URL such as http://127.0.0.1:8080, not '{endpointText}'");
        }

        return new IoTHubServiceClient(cs, new IoTHubServiceClientOptions { Endpoint = endpoint, Entra = entra }, handler, logger: loggers.CreateLogger<IoTHubServiceClient>());
    }

    private static string AuthOf(CommandLine line) => line.Get("auth") ?? Environment.GetEnvironmentVariable("IOTHUB_AUTH") ?? "sas";

    private static string? HostNameOf(string? connectionString) =>
        connectionString?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .FirstOrDefault(p => p.Length == 2 && p[0].Equals("HostName", StringComparison.OrdinalIgnoreCase))?[1];

    /// <summary>Warnings (retries) to stderr, nothing else.</summary>
    public static ILoggerFactory CreateLoggers() => LoggerFactory.Create(b => b
        .SetMinimumLevel(LogLevel.Warning)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.IncludeScopes = false;
        })
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

    /// <summary>
    /// Runs a command body, turning usage errors, hub errors and I/O failures into one line on stderr and an exit code
    /// (<see cref="ExitCodes"/>). <paramref name="name"/> is the command as typed (<c>twin set</c>), used in the hint.
    /// </summary>
    public static async Task<int> RunAsync(string name, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync(UsageError(name, ex.Message)).ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (HubNotFoundException ex)
        {
            await Console.Error.WriteLineAsync($"edge {name}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
        catch (IoTHubException ex)
        {
            await Console.Error.WriteLineAsync($"edge {name}: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"edge {name}: cannot reach IoT Hub: {IoTHubException.Redact(ex.Message)}").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            await Console.Error.WriteLineAsync($"edge {name}: IoT Hub did not answer in time ({ex.Timeout.TotalSeconds:0} s)").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException)
        {
            return ExitCodes.Interrupted;
        }
    }

    /// <summary>The form commands written before generated help use; the usage text is now the help's (<c>--help</c>).</summary>
    public static Task<int> RunAsync(string name, string usage, Func<Task<int>> body) => RunAsync(name, body);

    /// <summary>The one-line usage error: <c>edge twin set: unknown option --x (edge twin set --help shows the usage)</c>.</summary>
    public static string UsageError(string name, string message) => $"edge {name}: {message} (edge {name} --help shows the usage)";
}
