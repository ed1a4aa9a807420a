using System.Diagnostics;
using Edge.Runtime;
using Edge.Runtime.Client;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Outbox;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Edge.Bench.Runtime;

internal static class RuntimeBenchHelpers
{
    public static DurableOutbox CreateOutbox(string dir, RuntimeMetrics metrics, long maxBytes = 4L * 1024 * 1024 * 1024) =>
        new(Options.Create(new OutboxOptions { MaxBytes = maxBytes }), Options.Create(new EdgeModuleOptions { StateDirectory = dir }), TimeProvider.System, metrics, NullLogger<DurableOutbox>.Instance);

    public static ModuleClient CreateClient(TestBroker broker, string dir, DurableOutbox outbox, RuntimeMetrics metrics)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(broker.ModuleEnvironment(dir)!).Build();
        return new ModuleClient(
            () => EdgeHubSettings.FromConfiguration(config),
            Options.Create(new EdgeHubClientOptions()),
            Options.Create(new EdgeModuleOptions { StateDirectory = dir }),
            outbox,
            TimeProvider.System,
            metrics,
            NullLogger<ModuleClient>.Instance);
    }

    public static async Task WaitAsync(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException("benchmark condition not reached");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System, CancellationToken.None);
        }
    }

    public static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    public static string Ratio(double value, double limit) => $"{value / limit:0.00}x";
}
