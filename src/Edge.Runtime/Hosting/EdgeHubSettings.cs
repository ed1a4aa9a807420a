using System.Globalization;
using Edge.Runtime.Auth;
using Microsoft.Extensions.Configuration;

namespace Edge.Runtime;

/// <summary>A missing or malformed runtime setting. The message names the variable and what to do.</summary>
public sealed class EdgeConfigurationException : Exception
{
    /// <summary>Creates the exception for <paramref name="variable"/>.</summary>
    public EdgeConfigurationException(string variable, string message)
        : base($"{variable}: {message}")
    {
        Variable = variable;
    }

    /// <summary>The environment variable at fault.</summary>
    public string Variable { get; } = "";
}

/// <summary>Where and as whom to connect, resolved from the environment (docs/protocol.md, "Environment a module receives").</summary>
internal sealed record EdgeHubSettings(
    ModuleIdentity Identity,
    string HubHostName,
    string GatewayHostName,
    int Port,
    ISasTokenSource Tokens,
    ITrustSource Trust,
    string Mode)
{
    public const int DefaultPort = 8883;

    /// <summary>The module id from whichever environment is present, without validating the rest (used for the state folder).</summary>
    public static string? PeekModuleId(IConfiguration c)
    {
        var cs = c["EdgeHubConnectionString"] ?? c["IotHubConnectionString"];
        if (!string.IsNullOrWhiteSpace(cs) && TryParseConnectionString(cs, out var parts, out _))
        {
            return parts.GetValueOrDefault("ModuleId");
        }

        return c["IOTEDGE_MODULEID"];
    }

    /// <summary>
    /// Resolves the settings: <c>EdgeHubConnectionString</c> (+ <c>EdgeModuleCACertificateFile</c>) first, else the
    /// <c>IOTEDGE_*</c> variables edgeAgent sets. Throws <see cref="EdgeConfigurationException"/> naming the variable.
    /// </summary>
    public static EdgeHubSettings FromConfiguration(IConfiguration c, Func<string, HttpMessageHandler>? workloadHandler = null)
    {
        var port = ParsePort(c["EdgeHubPort"]);
        var csName = c["EdgeHubConnectionString"] is { Length: > 0 } ? "EdgeHubConnectionString" : "IotHubConnectionString";
        var cs = c[csName];
        if (!string.IsNullOrWhiteSpace(cs))
        {
            if (!TryParseConnectionString(cs, out var parts, out var error))
            {
                throw new EdgeConfigurationException(csName, error);
            }

            string Need(string key) => parts.TryGetValue(key, out var v) && v.Length > 0
                ? v
                : throw new EdgeConfigurationException(csName, $"'{key}=' is missing; expected HostName=...;GatewayHostName=...;DeviceId=...;ModuleId=...;SharedAccessKey=...");

            var host = Need("HostName");
            var device = Need("DeviceId");
            var module = Need("ModuleId");
            var key = Need("SharedAccessKey");
            try
            {
                _ = Convert.FromBase64String(key);
            }
            catch (FormatException)
            {
                throw new EdgeConfigurationException(csName, "SharedAccessKey is not valid Base64");
            }

            var gateway = parts.GetValueOrDefault("GatewayHostName") is { Length: > 0 } g ? g : host;
            var caFile = c["EdgeModuleCACertificateFile"];
            ITrustSource trust;
            if (string.IsNullOrWhiteSpace(caFile))
            {
                if (parts.ContainsKey("GatewayHostName"))
                {
                    throw new EdgeConfigurationException("EdgeModuleCACertificateFile", "required with a GatewayHostName: the PEM file of the edge CA that issued edgeHub's certificate");
                }

                trust = new SystemTrustSource();
            }
            else
            {
                if (!File.Exists(caFile))
                {
                    throw new EdgeConfigurationException("EdgeModuleCACertificateFile", $"file '{caFile}' does not exist");
                }

                trust = new PemFileTrustSource(caFile);
            }

            return new EdgeHubSettings(new ModuleIdentity(device, module), host, gateway, port, new SharedKeyTokenSource(host, device, module, key), trust, "connection string");
        }

        string Env(string name) => c[name] is { Length: > 0 } v
            ? v
            : throw new EdgeConfigurationException(name, "not set. Set EdgeHubConnectionString (local/dev) or run under the IoT Edge runtime, which sets IOTEDGE_WORKLOADURI, IOTEDGE_DEVICEID, IOTEDGE_MODULEID, IOTEDGE_MODULEGENERATIONID, IOTEDGE_IOTHUBHOSTNAME and IOTEDGE_AUTHSCHEME");

        var workloadUri = Env("IOTEDGE_WORKLOADURI");
        var deviceId = Env("IOTEDGE_DEVICEID");
        var moduleId = Env("IOTEDGE_MODULEID");
        var generationId = Env("IOTEDGE_MODULEGENERATIONID");
        var hubHost = Env("IOTEDGE_IOTHUBHOSTNAME");
        var scheme = Env("IOTEDGE_AUTHSCHEME");
        if (!string.Equals(scheme, "sasToken", StringComparison.OrdinalIgnoreCase))
        {
            throw new EdgeConfigurationException("IOTEDGE_AUTHSCHEME", $"'{scheme}' is not supported; only 'sasToken'");
        }

        if (!Uri.TryCreate(workloadUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("unix" or "http" or "https"))
        {
            throw new EdgeConfigurationException("IOTEDGE_WORKLOADURI", $"'{workloadUri}' is not a unix://, http:// or https:// URI");
        }

        var gatewayHost = c["IOTEDGE_GATEWAYHOSTNAME"] is { Length: > 0 } gw ? gw : hubHost;
        var workload = new WorkloadClient(uri, moduleId, generationId, workloadHandler);
        return new EdgeHubSettings(
            new ModuleIdentity(deviceId, moduleId),
            hubHost,
            gatewayHost,
            port,
            new WorkloadTokenSource(workload, hubHost, deviceId, moduleId),
            c["IOTEDGE_GATEWAYHOSTNAME"] is { Length: > 0 } ? new WorkloadTrustSource(workload) : new SystemTrustSource(),
            "IoT Edge workload API");
    }

    internal static bool TryParseConnectionString(string cs, out Dictionary<string, string> parts, out string error)
    {
        parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        error = "";
        foreach (var raw in cs.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"malformed part '{Redact(raw)}'; expected Key=Value pairs separated by ';'";
                return false;
            }

            parts[raw[..eq].Trim()] = raw[(eq + 1)..].Trim();
        }

        if (parts.Count == 0)
        {
            error = "empty";
            return false;
        }

        return true;
    }

    private static string Redact(string s) => s.Length > 12 ? s[..12] + "..." : s;

    private static int ParsePort(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return DefaultPort;
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536
            ? p
            : throw new EdgeConfigurationException("EdgeHubPort", $"'{value}' is not a TCP port (1-65535)");
    }
}
