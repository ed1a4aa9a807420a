using System.Globalization;

namespace EndToEnd.Tests.Harness;

/// <summary>
/// Suite-wide switches. The default is the short CI form (seconds per scenario); <c>EDGE_E2E_LONG=1</c> selects the soak
/// form (minutes; <c>EDGE_E2E_SCALE</c> multiplies its durations, e.g. 60 for hours). See docs/reliability-suite.md.
/// </summary>
internal static class E2E
{
    public static bool Long { get; } = Environment.GetEnvironmentVariable("EDGE_E2E_LONG") is "1" or "true" or "yes";

    public static double Scale { get; } =
        double.TryParse(Environment.GetEnvironmentVariable("EDGE_E2E_SCALE"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 1;

    /// <summary>The CI value, or the soak value (times <see cref="Scale"/>) under <c>EDGE_E2E_LONG=1</c>.</summary>
    public static int Pick(int ci, int soak) => Long ? (int)Math.Max(1, soak * Scale) : ci;

    /// <inheritdoc cref="Pick(int, int)"/>
    public static TimeSpan Pick(TimeSpan ci, TimeSpan soak) => Long ? soak * Scale : ci;

    /// <summary>Cancels a whole scenario that hangs (CI: 90 s; soak: unbounded but for the test host).</summary>
    public static CancellationToken ScenarioToken(out CancellationTokenSource owner)
    {
        owner = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        owner.CancelAfter(Long ? TimeSpan.FromHours(24) : TimeSpan.FromSeconds(90));
        return owner.Token;
    }

    /// <summary>
    /// A latency budget scaled by how overloaded the machine is right now: <paramref name="nominal"/> × max(1, 1-minute load
    /// average / cores). On an idle CI runner this is the nominal budget (docs/reliability-suite.md, scenario catalogue); on a shared, saturated box it grows
    /// with the queue for the CPU instead of failing on scheduling delay. The value used is printed with each result.
    /// </summary>
    public static double LatencyBudgetMs(double nominal)
    {
        var load = 0.0;
        try
        {
            var text = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            load = double.Parse(text, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
        }

        var budget = nominal * Math.Max(1, load / Environment.ProcessorCount);
        TestContext.Current.TestOutputHelper?.WriteLine($"latency budget {budget:0} ms (nominal {nominal:0} ms, load average {load:0.0} on {Environment.ProcessorCount} cores)");
        return budget;
    }

    /// <summary>The p-th percentile (nearest rank) of <paramref name="values"/>; NaN when empty.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
