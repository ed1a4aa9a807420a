using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;

namespace Edge.Hub;

/// <summary>Options of the local IoT Edge simulator hub (<see cref="EdgeHubSimulator"/>).</summary>
public sealed class SimulatorOptions
{
    /// <summary>Where the CA, server certificate, identities, message store and twins live. Reused across starts.</summary>
    [Required]
    public string StateDirectory { get; set; } = "";

    /// <summary>The edge device id. <value>Default <c>edge-sim</c>.</value></summary>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9\-:.+%_#*?!(),=@;$']{1,128}$")]
    public string DeviceId { get; set; } = "edge-sim";

    /// <summary>The IoT Hub host name used as SAS audience (IOTEDGE_IOTHUBHOSTNAME). <value>Default <c>sim.azure-devices.net</c>.</value></summary>
    [Required]
    public string HubHostName { get; set; } = "sim.azure-devices.net";

    /// <summary>The gateway host name modules connect to (IOTEDGE_GATEWAYHOSTNAME); also a SAN of the server certificate. <value>Default <c>localhost</c>.</value></summary>
    [Required]
    public string GatewayHostName { get; set; } = "localhost";

    /// <summary>MQTT-over-TLS port on loopback; 0 picks a free port. <value>Default 0.</value></summary>
    [Range(0, 65535)]
    public int MqttPort { get; set; }

    /// <summary>Cloud-side HTTP API port on loopback; 0 picks a free port. <value>Default 0.</value></summary>
    [Range(0, 65535)]
    public int ApiPort { get; set; }

    /// <summary>How long the hub waits for a module's PUBACK before redelivering (edgeHub MessageAckTimeoutSecs). <value>Default 30 s.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan MessageAckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Module-input PUBLISHes in flight per module. edgeHub sends one at a time (the default); larger values pipeline deliveries for
    /// throughput, at the cost of order after an ack timeout (the timed-out message is redelivered after later ones). <value>Default 1.</value>
    /// </summary>
    [Range(1, 1000)]
    public int MaxInFlightPerModule { get; set; } = 1;

    /// <summary>Module identities to create at start (besides those in <see cref="Deployment"/>).</summary>
    public IList<string> Modules { get; set; } = [];

    /// <summary>A deployment's <c>modulesContent</c> applied at start (like applyConfigurationContent), or null.</summary>
    public JsonObject? Deployment { get; set; }

    /// <summary>How many recent <c>$upstream</c> messages the hub keeps for <c>/simulator/upstream</c>. <value>Default 1000.</value></summary>
    [Range(1, 1_000_000)]
    public int UpstreamHistory { get; set; } = 1000;

    /// <summary>Largest accepted message: body plus every property key and value (edgeHub: 256 KB). <value>Default 262144.</value></summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 256 * 1024;

    /// <summary>How often a dispatcher with nothing deliverable re-checks its queue for expired messages. <value>Default 1 s.</value></summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan IdleRecheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether <c>$upstream</c> starts online (false: messages for IoT Hub queue until it is set online). <value>Default true.</value></summary>
    public bool UpstreamOnline { get; set; } = true;

    /// <summary>Called before the cloud-side API starts, to map more endpoints on the same server (the dashboard).</summary>
    public Action<WebApplication>? ConfigureWebApp { get; set; }
}
