using Edge.TestSupport;

namespace Edge.Runtime.Tests;

/// <summary>A real TLS test broker in a temp folder per test, and a counting verifier over what reached it as telemetry.</summary>
public abstract class BrokerTestBase(string name) : IAsyncLifetime
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _dir = new(name);

    protected TestBroker Broker { get; private set; } = null!;

    protected string Root => _dir.Path;

    protected string State => Path.Combine(_dir.Path, "state");

    public async ValueTask InitializeAsync() => Broker = await TestBroker.StartAsync(_dir.Path);

    public async ValueTask DisposeAsync()
    {
        await Broker.DisposeAsync();
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    protected CountingVerifier VerifyEvents()
    {
        var v = new CountingVerifier();
        foreach (var e in Broker.Events)
        {
            v.AddJson(e.Payload);
        }

        return v;
    }
}
