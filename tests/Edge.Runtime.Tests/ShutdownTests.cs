using Edge.Runtime.Diagnostics;
using Edge.Runtime.Outbox;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Edge.Runtime.Tests;

/// <summary>A real LoadGen process: graceful stop (SIGTERM) and its default source id.</summary>
public sealed class ShutdownTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new("runtime-shutdown");
    private TestBroker _broker = null!;

    private string State => Path.Combine(_dir.Path, "state");

    public async ValueTask InitializeAsync() => _broker = await TestBroker.StartAsync(_dir.Path);

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        _dir.Dispose();
    }

    private CountingVerifier VerifyEvents()
    {
        var v = new CountingVerifier();
        foreach (var e in _broker.Events)
        {
            v.AddJson(e.Payload);
        }

        return v;
    }

    [Fact]
    public async Task LoadGen_SigtermWhileSending_OutboxFlushedBeforeExit()
    {
        var env = _broker.ModuleEnvironment(State);
        env["LoadGen__Rate"] = "0"; // as fast as the outbox accepts: SendAsync is still accepting when the stop begins
        env["LoadGen__Source"] = "lg";
        env["RuntimeLogLevel"] = "warning";
        await using var p = ModuleProcess.Start(ModuleProcess.BuiltDll("LoadGen"), env);
        await TestBroker.WaitUntilAsync(() => _broker.Events.Count() >= 500, Wait, "LoadGen's first messages\n" + p.Output);

        (await p.TerminateAsync(Wait)).ShouldBe(0, p.Output);

        // Every accepted message was published before the process exited: nothing is left for the next start.
        using (var metrics = new RuntimeMetrics())
        {
            await using var outbox = new DurableOutbox(Options.Create(new OutboxOptions()), Options.Create(new EdgeModuleOptions { StateDirectory = State }), TimeProvider.System, metrics, NullLogger<DurableOutbox>.Instance);
            outbox.EnsureOpen();
            outbox.Count.ShouldBe(0, p.Output);
        }

        var lastAccepted = long.Parse(await File.ReadAllTextAsync(Path.Combine(State, "loadgen-lg.seq"), TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture) - 1;
        var v = VerifyEvents();
        v.Expect("lg", 1, lastAccepted);
        var r = v.Report("lg");
        r.Passed.ShouldBeTrue(r.ToString());
    }

    [Fact]
    public async Task LoadGen_NoSourceSet_SourceIsTheModuleId()
    {
        var env = _broker.ModuleEnvironment(State);
        env["LoadGen__Rate"] = "100";
        env["LoadGen__Count"] = "20";
        env["RuntimeLogLevel"] = "warning";
        await using var p = ModuleProcess.Start(ModuleProcess.BuiltDll("LoadGen"), env);
        await TestBroker.WaitUntilAsync(() => VerifyEvents().DistinctCount(_broker.ModuleId) == 20, Wait, $"20 messages from source {_broker.ModuleId}\n" + p.Output);
        VerifyEvents().DistinctCount("loadgen").ShouldBe(0);
        File.Exists(Path.Combine(State, $"loadgen-{_broker.ModuleId}.seq")).ShouldBeTrue();
        (await p.TerminateAsync(Wait)).ShouldBe(0, p.Output);
    }
}
