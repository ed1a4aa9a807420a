using System.Text;
using Edge.Runtime.Client;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Edge.Runtime.Tests;

public sealed class HostTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _dir = new("runtime-host");
    private TestBroker _broker = null!;

    public async ValueTask InitializeAsync() => _broker = await TestBroker.StartAsync(_dir.Path);

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task AddEdgeModule_HandlerRegisteredInHostedService_ReceivesInputAndServesMetrics()
    {
        var env = _broker.ModuleEnvironment(Path.Combine(_dir.Path, "state"));
        var metricsPort = LoopbackPort.Free();
        env["MetricsPort"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(env!);
        builder.Services.AddEdgeModule(builder.Configuration);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        builder.Services.AddHostedService(sp => new HandlerRegistrar(sp.GetRequiredService<IModuleClient>(), received));
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var client = host.Services.GetRequiredService<IModuleClient>();
            host.Services.GetRequiredService<ModuleClient>().ShouldBeSameAs(client);
            await TestBroker.WaitUntilAsync(() => client.State == ConnectionState.Connected, Wait, "connected");
            client.Identity.ShouldBe(new ModuleIdentity("edge1", "mod1"));
            await _broker.SendInputAsync("in", Encoding.UTF8.GetBytes("hi"));
            (await received.Task.WaitAsync(Wait, TestContext.Current.CancellationToken)).ShouldBe("hi");
            (await client.SendAsync("out", new EdgeMessage { Body = new byte[] { 1 } }, TestContext.Current.CancellationToken)).IsAccepted.ShouldBeTrue();
            await TestBroker.WaitUntilAsync(() => _broker.Events.Any(), Wait, "the event");

            using var http = new HttpClient();
            var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics"), TestContext.Current.CancellationToken);

            // IoT Edge's metrics-collector conventions: HELP and TYPE per family, counters _total, durations as histograms in
            // seconds, and iothub/edge_device/instance_number/module_name on every series.
            var series = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).ToList();
            series.ShouldNotBeEmpty();
            series.ShouldAllBe(l => l.Contains("{iothub=\"testhub.azure-devices.net\",edge_device=\"edge1\",instance_number=\"", StringComparison.Ordinal) && l.Contains("\",module_name=\"mod1\"", StringComparison.Ordinal));
            foreach (var family in series.Select(l => l[..l.IndexOf('{', StringComparison.Ordinal)]).Select(n => n.EndsWith("_bucket", StringComparison.Ordinal) ? n[..^7] : n.EndsWith("_sum", StringComparison.Ordinal) ? n[..^4] : n.EndsWith("_count", StringComparison.Ordinal) ? n[..^6] : n).Distinct())
            {
                text.ShouldContain($"# HELP {family} ");
                text.ShouldContain($"# TYPE {family} ");
            }

            text.ShouldContain("# TYPE edge_connected gauge");
            text.ShouldContain("# HELP edge_connected 1 when connected to edgeHub");
            series.ShouldContain(l => l.StartsWith("edge_connected{", StringComparison.Ordinal) && l.EndsWith("} 1", StringComparison.Ordinal));
            text.ShouldContain("# TYPE edge_outbox_depth gauge");
            text.ShouldContain("# TYPE edge_messages_received_total counter");
            series.ShouldContain(l => l.StartsWith("edge_messages_received_total{", StringComparison.Ordinal) && l.EndsWith(",result=\"handled\",input=\"in\"} 1", StringComparison.Ordinal));
            text.ShouldContain("# TYPE edge_messages_sent_total counter");
            text.ShouldContain("# TYPE edge_publish_latency_seconds histogram");
            series.ShouldContain(l => l.StartsWith("edge_publish_latency_seconds_bucket{", StringComparison.Ordinal) && l.Contains(",le=\"+Inf\"} 1", StringComparison.Ordinal));
            series.ShouldContain(l => l.StartsWith("edge_publish_latency_seconds_count{", StringComparison.Ordinal) && l.EndsWith("} 1", StringComparison.Ordinal));
            series.ShouldContain(l => l.StartsWith("edge_publish_latency_seconds_sum{", StringComparison.Ordinal));
            text.ShouldNotContain("_ms");
        }
        finally
        {
            await host.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    private sealed class HandlerRegistrar(IModuleClient client, TaskCompletionSource<string> received) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            client.SetInputHandler("in", (args, ct) =>
            {
                received.TrySetResult(args.Message.BodyAsString());
                return Task.CompletedTask;
            });
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
