namespace Edge.Deployment.IoTHub;

/// <summary>
/// A hub-level IoT Hub connection string: <c>HostName=...;SharedAccessKeyName=...;SharedAccessKey=...</c> (a shared access
/// policy such as <c>iothubowner</c> or <c>service</c>). <see cref="ToString"/> never shows the key.
/// </summary>
public sealed record IoTHubConnectionString(string HostName, string SharedAccessKeyName, string SharedAccessKey)
{
    /// <summary>Parses a connection string; the error names what is missing and never echoes the key.</summary>
    public static IoTHubConnectionString Parse(string text)
    {
        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException("the IoT Hub connection string is not a list of Name=value pairs separated by ';'");
            }

            parts[part[..eq]] = part[(eq + 1)..];
        }

        if (parts.ContainsKey("DeviceId"))
        {
            throw new FormatException("this is a device connection string; the fleet commands need a hub-level policy (HostName=...;SharedAccessKeyName=...;SharedAccessKey=...)");
        }

        var missing = new[] { "HostName", "SharedAccessKeyName", "SharedAccessKey" }.Where(k => !parts.TryGetValue(k, out var v) || v.Length == 0).ToList();
        if (missing.Count > 0)
        {
            throw new FormatException($"the IoT Hub connection string lacks {string.Join(", ", missing)} (expected HostName=...;SharedAccessKeyName=...;SharedAccessKey=...)");
        }

        var key = parts["SharedAccessKey"];
        try
        {
            _ = Convert.FromBase64String(key);
        }
        catch (FormatException)
        {
            throw new FormatException("the SharedAccessKey in the IoT Hub connection string is not Base64");
        }

        return new IoTHubConnectionString(parts["HostName"], parts["SharedAccessKeyName"], key);
    }

    /// <summary>The connection string with the key replaced by <c>***</c>.</summary>
    public override string ToString() => $"HostName={HostName};SharedAccessKeyName={SharedAccessKeyName};SharedAccessKey=***";
}
