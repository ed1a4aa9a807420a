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

    /// <summary>LoadGen's environment for this broker and state: source "lg", <paramref name="rate"/> messages/s (0 = flat out).</summary>
    protected Dictionary<string, string> LoadGenEnvironment(int rate)
    {
        var env = Broker.ModuleEnvironment(State);
        env["LoadGen__Rate"] = rate.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["LoadGen__Source"] = "lg";
        env["RuntimeLogLevel"] = "warning";
        return env;
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
