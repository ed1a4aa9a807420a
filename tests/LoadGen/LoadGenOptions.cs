using System.ComponentModel.DataAnnotations;

namespace LoadGen;

/// <summary>What LoadGen does (env <c>LoadGen__*</c>).</summary>
public enum LoadGenMode
{
    /// <summary>Send sequence-numbered messages.</summary>
    Send,

    /// <summary>Forward every message of <see cref="LoadGenOptions.Input"/> to <see cref="LoadGenOptions.Output"/>.</summary>
    Relay,

    /// <summary>Connect and do nothing (idle memory).</summary>
    Idle,
}

/// <summary>LoadGen settings.</summary>
public sealed class LoadGenOptions
{
    public LoadGenMode Mode { get; set; } = LoadGenMode.Send;

    /// <summary>Source id in every message; default: the module id.</summary>
    public string? Source { get; set; }

    [Required]
    public string Output { get; set; } = "out";

    [Required]
    public string Input { get; set; } = "in";

    /// <summary>Messages per second; 0 = as fast as the outbox accepts.</summary>
    [Range(0, 100_000)]
    public double Rate { get; set; } = 10;

    /// <summary>Last sequence number to send (the sequence survives restarts); 0 = unlimited.</summary>
    [Range(0, long.MaxValue)]
    public long Count { get; set; }

    /// <summary>Padding added to each message body.</summary>
    [Range(0, 200_000)]
    public int PayloadBytes { get; set; }
}

/// <summary>Source-generated DataAnnotations validation of <see cref="LoadGenOptions"/> (trim- and AOT-safe).</summary>
[Microsoft.Extensions.Options.OptionsValidator]
internal sealed partial class LoadGenOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<LoadGenOptions>;
