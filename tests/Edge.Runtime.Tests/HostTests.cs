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
            text.ShouldContain("# TYPE edge_connected gauge");
            text.ShouldContain("edge_connected 1");
            text.ShouldContain("edge_outbox_depth");
            text.ShouldContain("edge_messages_received_total{result=\"handled\",input=\"in\"} 1");
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
