using Edge.Deployment.IoTHub;
using Microsoft.Extensions.Logging;

namespace Edge.Cli.Fleet;

/// <summary>
/// How the fleet commands reach IoT Hub: <c>--connection-string</c> or <c>IOTHUB_CONNECTION_STRING</c> (a hub-level policy),
/// and optionally <c>--endpoint</c> or <c>IOTHUB_ENDPOINT</c> to send the same requests to the simulator.
/// </summary>
internal static class FleetConnection
{
    public static readonly string[] Options = ["connection-string", "endpoint", "auth", "host"];

    public const string Usage = "[--connection-string <cs>|$IOTHUB_CONNECTION_STRING] [--auth sas|entra] [--host <hub>.azure-devices.net] [--endpoint <url>|$IOTHUB_ENDPOINT]";

    public static IoTHubServiceClient CreateClient(CommandLine line, ILoggerFactory loggers) => CreateClient(line, loggers, null);

    /// <summary>The client for the command line's hub and auth; <c>--auth entra</c> takes tokens from <paramref name="entraTokens"/> (null: Azure.Identity's DefaultAzureCredential).</summary>
    internal static IoTHubServiceClient CreateClient(CommandLine line, ILoggerFactory loggers, Func<string[], CancellationToken, ValueTask<IoTHubAccessToken>>? entraTokens, HttpMessageHandler? handler = null)
    {
        var auth = line.Get("auth") ?? Environment.GetEnvironmentVariable("IOTHUB_AUTH") ?? "sas";
        if (auth is not ("sas" or "entra"))
        {
            throw new UsageException($"--auth must be 'sas' (the connection string's key) or 'entra' (Microsoft Entra ID), not '{auth}'");
        }

        var text = line.Get("connection-string") ?? Environment.GetEnvironmentVariable("IOTHUB_CONNECTION_STRING");
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
                throw new UsageException("no IoT Hub connection string: pass --connection-string or set IOTHUB_CONNECTION_STRING (HostName=...;SharedAccessKeyName=...;SharedAccessKey=...), or use --auth entra --host <hub>.azure-devices.net");
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

        var endpointText = line.Get("endpoint") ?? Environment.GetEnvironmentVariable("IOTHUB_ENDPOINT");
        Uri? endpoint = null;
        if (!string.IsNullOrWhiteSpace(endpointText)
            && (!Uri.TryCreate(endpointText, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            throw new UsageException($"--endpoint must be an http(s) URL such as http://127.0.0.1:8080, not '{endpointText}'");
        }

        return new IoTHubServiceClient(cs, new IoTHubServiceClientOptions { Endpoint = endpoint, Entra = entra }, handler, logger: loggers.CreateLogger<IoTHubServiceClient>());
    }

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

    /// <summary>Runs a fleet command body, turning hub errors, usage errors and I/O failures into messages and exit codes.</summary>
    public static async Task<int> RunAsync(string name, string usage, Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"edge {name}: {ex.Message}\nusage: {usage}").ConfigureAwait(false);
            return 2;
        }
        catch (IoTHubException ex)
        {
            await Console.Error.WriteLineAsync($"edge {name}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync($"edge {name}: cannot reach IoT Hub: {IoTHubException.Redact(ex.Message)}").ConfigureAwait(false);
            return 1;
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            await Console.Error.WriteLineAsync($"edge {name}: IoT Hub did not answer in time ({ex.Timeout.TotalSeconds:0} s)").ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
    }
}
