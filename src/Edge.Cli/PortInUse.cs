using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Edge.Cli;

/// <summary>
/// Turns "address already in use" from the hub's MQTT listener (a <see cref="SocketException"/>) or its HTTP API (Kestrel's
/// <c>IOException: Failed to bind to address http://127.0.0.1:8080</c>) into one line naming the option that moves the port.
/// </summary>
internal static partial class PortInUse
{
    /// <summary>
    /// True when <paramref name="ex"/> is a port already in use; <paramref name="message"/> then names the port and the option
    /// (from <paramref name="ports"/>: option name, requested port, and whether it is the HTTP listener) that changes it.
    /// </summary>
    public static bool TryDescribe(Exception ex, IReadOnlyList<(string Option, int Port, bool Http)> ports, out string message)
    {
        message = "";
        var socket = Find<SocketException>(ex);
        var bindFailure = Find<IOException>(ex) is { } io && io.Message.Contains("Failed to bind", StringComparison.OrdinalIgnoreCase);
        var inUse = socket?.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AccessDenied
            || (bindFailure && (socket is null || socket.SocketErrorCode == SocketError.AddressAlreadyInUse
                || ex.ToString().Contains("already in use", StringComparison.OrdinalIgnoreCase)));
        if (!inUse)
        {
            return false;
        }

        // Kestrel names the address it failed to bind; a raw socket listener (the MQTT broker) does not.
        int? port = BoundAddress().Match(ex.ToString()) is { Success: true } m
            ? int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture)
            : null;
        var match = port is { } p ? ports.FirstOrDefault(x => x.Port == p) : ports.FirstOrDefault(x => x.Http == bindFailure);
        var denied = socket?.SocketErrorCode == SocketError.AccessDenied;
        var what = match.Option is null
            ? $"port {port?.ToString(CultureInfo.InvariantCulture) ?? "?"} is {(denied ? "not allowed" : "in use")}"
            : $"port {match.Port} ({match.Option}) is {(denied ? "not allowed (ports below 1024 need root)" : "in use")}";
        var fix = match.Option is null
            ? "pick other ports with " + string.Join(" / ", ports.Select(x => x.Option))
            : $"stop what holds it (another 'edge up' or 'edge hub'? ss -ltnp shows it), or pass {match.Option} <port> (0 = any free port)";
        message = $"{what}: {fix}";
        return true;
    }

    private static T? Find<T>(Exception? ex)
        where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T t)
            {
                return t;
            }

            if (ex is AggregateException agg)
            {
                foreach (var inner in agg.InnerExceptions)
                {
                    if (Find<T>(inner) is { } found)
                    {
                        return found;
                    }
                }
            }
        }

        return null;
    }

    [GeneratedRegex(@"Failed to bind to address \S+?:(?<port>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex BoundAddress();
}
