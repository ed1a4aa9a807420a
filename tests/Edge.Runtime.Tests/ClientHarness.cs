using Edge.Runtime.Client;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Outbox;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace Edge.Runtime.Tests;

/// <summary>A real <see cref="ModuleClient"/> wired to a <see cref="TestBroker"/> with a real SQLite outbox in a temp folder.</summary>
internal sealed class ClientHarness : IAsyncDisposable
{
    private readonly ILoggerFactory _loggerFactory;

    private ClientHarness(TestBroker broker, string stateDirectory, EdgeHubClientOptions hubOptions, OutboxOptions outboxOptions, Func<EdgeHubSettings, EdgeHubSettings>? adjust)
    {
        Broker = broker;
        StateDirectory = stateDirectory;
        Collector = new FakeLogCollector();
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(Collector)).SetMinimumLevel(LogLevel.Debug));
        Metrics = new RuntimeMetrics();
        var module = Options.Create(new EdgeModuleOptions { StateDirectory = stateDirectory });
        Outbox = new DurableOutbox(Options.Create(outboxOptions), module, TimeProvider.System, Metrics, _loggerFactory.CreateLogger<DurableOutbox>());
        var config = new ConfigurationBuilder().AddInMemoryCollection(broker.ModuleEnvironment(stateDirectory)!).Build();
        Client = new ModuleClient(
            () =>
            {
                var s = EdgeHubSettings.FromConfiguration(config);
                return adjust is null ? s : adjust(s);
            },
            Options.Create(hubOptions),
            module,
            Outbox,
            TimeProvider.System,
            Metrics,
            _loggerFactory.CreateLogger<ModuleClient>());
    }

    public TestBroker Broker { get; }

    public string StateDirectory { get; }

    public FakeLogCollector Collector { get; }

    public RuntimeMetrics Metrics { get; }

    public DurableOutbox Outbox { get; }

    public ModuleClient Client { get; }

    public static ClientHarness Create(
        TestBroker broker,
        string stateDirectory,
        Action<EdgeHubClientOptions>? hub = null,
        Action<OutboxOptions>? outbox = null,
        Func<EdgeHubSettings, EdgeHubSettings>? adjust = null)
    {
        var h = new EdgeHubClientOptions { ReconnectDelay = TimeSpan.FromMilliseconds(50), ReconnectMaxDelay = TimeSpan.FromMilliseconds(500), OperationTimeout = TimeSpan.FromSeconds(10), ShutdownFlush = TimeSpan.FromSeconds(2) };
        hub?.Invoke(h);
        var o = new OutboxOptions();
        outbox?.Invoke(o);
        return new ClientHarness(broker, stateDirectory, h, o, adjust);
    }

    public async Task StartAndWaitConnectedAsync()
    {
        await Client.StartAsync(CancellationToken.None);
        await TestBroker.WaitUntilAsync(() => Client.State == ConnectionState.Connected, TimeSpan.FromSeconds(15), "the client to connect");
    }

    public IReadOnlyList<FakeLogRecord> Errors => Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Error).ToList();

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Outbox.DisposeAsync();
        Metrics.Dispose();
        _loggerFactory.Dispose();
    }
}
