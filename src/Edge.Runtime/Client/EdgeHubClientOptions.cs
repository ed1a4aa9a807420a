using System.ComponentModel.DataAnnotations;

namespace Edge.Runtime.Client;

/// <summary>Connection tuning (configuration section <c>EdgeHub</c>, env <c>EdgeHub__*</c>). See docs/configuration.md.</summary>
internal sealed class EdgeHubClientOptions
{
    /// <summary>Lifetime of each SAS token. Default 1 hour (the SDK's).</summary>
    [TimeSpanRange("00:00:10", "1.00:00:00")]
    public TimeSpan TokenTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Fraction of the token lifetime after which the client reconnects with a fresh token. Default 0.85.</summary>
    [Range(0.1, 0.95)]
    public double RenewAt { get; set; } = 0.85;

    /// <summary>Timeout of one connect (CONNECT + SUBSCRIBEs), one publish and one twin request. Default 30 s.</summary>
    [TimeSpanRange("00:00:01", "00:10:00")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First reconnect delay (exponential backoff with jitter from here). Default 1 s.</summary>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest reconnect delay. Default 60 s.</summary>
    [TimeSpanRange("00:00:00.010", "01:00:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>MQTT keep-alive. Default 60 s (edgeHub drops a silent client after 1.5x).</summary>
    [TimeSpanRange("00:00:05", "00:10:00")]
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time to drain the outbox on shutdown before closing. Default 5 s.</summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan ShutdownFlush { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The <c>DeviceClientType</c> sent in the MQTT username.</summary>
    [Required]
    public string DeviceClientType { get; set; } = "Edge.Runtime/1.0";
}
