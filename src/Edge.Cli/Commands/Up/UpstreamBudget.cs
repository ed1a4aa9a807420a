using System.Globalization;
using System.Text.Json.Nodes;

namespace Edge.Cli.Commands.Up;

/// <summary>
/// The run's upstream messages per hour and the projected daily count against the IoT Hub tier the deployment names
/// (Inference desired <c>events.iotHubTier</c> × <c>events.iotHubUnits</c>, default S1 × 1). Messages that only the local run
/// routes upstream (per-frame detections and annotated frames for the console and dashboard, the copy of captured frames the run summary counts) are left out. Quotas per unit per
/// day (Microsoft's IoT Hub quotas page): F1 8,000 (metered in 0.5 KB blocks), B1/S1 400,000, B2/S2 6,000,000, B3/S3
/// 300,000,000 (4 KB blocks).
/// </summary>
internal sealed record UpstreamBudget(string Tier, int Units, long DailyQuota, long Messages, TimeSpan Elapsed, IReadOnlyDictionary<string, long> BySource)
{
    /// <summary>The route <c>edge up</c> adds so per-frame detections still reach the console; not part of the budget.</summary>
    public const string LocalDetectionsRoute = "detectionsToConsole";

    private static readonly string[] LocalOnlySources = ["Inference/detections", "Inference/annotated", "CameraCapture/frames"];

    public double PerHour => Elapsed.TotalHours > 0 ? Messages / Elapsed.TotalHours : 0;

    public double ProjectedPerDay => PerHour * 24;

    public double QuotaFraction => DailyQuota > 0 ? ProjectedPerDay / DailyQuota : 0;

    /// <summary>Daily messages per unit of a tier, or null for an unknown tier name.</summary>
    public static long? QuotaPerUnit(string tier) => tier.ToUpperInvariant() switch
    {
        "F1" => 8_000,
        "B1" or "S1" => 400_000,
        "B2" or "S2" => 6_000_000,
        "B3" or "S3" => 300_000_000,
        _ => null,
    };

    /// <summary>Metering block of a tier in bytes: 0.5 KB on the free tier, 4 KB on the others.</summary>
    public static int MeterBytes(string tier) => tier.Equals("F1", StringComparison.OrdinalIgnoreCase) ? 512 : 4096;

    /// <summary>Messages counted against the quota for one message of <paramref name="bytes"/> bytes.</summary>
    public static long Metered(long bytes, string tier) => Math.Max(1, (bytes + MeterBytes(tier) - 1) / MeterBytes(tier));

    public static UpstreamBudget Create(IReadOnlyDictionary<string, long> upstreamBySource, TimeSpan elapsed, JsonObject modulesContent)
    {
        var events = modulesContent["Inference"]?["properties.desired"]?["events"];
        var tier = events?["iotHubTier"] is JsonValue t && t.TryGetValue<string>(out var ts) && QuotaPerUnit(ts) is not null ? ts.ToUpperInvariant() : "S1";
        var units = events?["iotHubUnits"] is JsonValue u && u.TryGetValue<int>(out var us) && us > 0 ? us : 1;
        var counted = upstreamBySource.Where(kv => !LocalOnlySources.Contains(kv.Key, StringComparer.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new UpstreamBudget(tier, units, QuotaPerUnit(tier)!.Value * units, counted.Values.Sum(), elapsed, counted);
    }

    public void Write(TextWriter w)
    {
        var c = CultureInfo.InvariantCulture;
        var sources = string.Join(", ", BySource.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value.ToString("N0", c)}"));
        w.WriteLine($"    upstream budget            {Messages.ToString("N0", c)} messages ({(sources.Length > 0 ? sources : "none")}), {PerHour.ToString("N0", c)}/h");
        w.WriteLine($"                               projected {ProjectedPerDay.ToString("N0", c)}/day = {(QuotaFraction * 100).ToString("0.##", c)} % of IoT Hub {Tier} x{Units} ({DailyQuota.ToString("N0", c)}/day, {MeterBytes(Tier) / 1024.0:0.#} KB blocks)");
    }
}
