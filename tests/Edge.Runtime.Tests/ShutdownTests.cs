using Edge.Runtime.Diagnostics;
using Edge.Runtime.Outbox;
using Edge.TestSupport;
using MQTTnet.Protocol;
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
    public async Task LoadGen_KilledHardWhileSendingFlatOut_EveryAcceptedMessageDelivered()
    {
        // Flat out, the pump takes committed messages from memory (hot path) and falls back to SQLite when it lags:
        // a message SendAsync accepted must survive kill -9 at any point of that.
        var env = _broker.ModuleEnvironment(State);
        env["LoadGen__Rate"] = "0";
        env["LoadGen__Source"] = "lg";
        env["RuntimeLogLevel"] = "warning";
        var dll = ModuleProcess.BuiltDll("LoadGen");
        await using (var first = ModuleProcess.Start(dll, env))
        {
            await TestBroker.WaitUntilAsync(() => _broker.Events.Count() >= 1500, Wait, "LoadGen's first messages\n" + first.Output);
            first.KillHard();
        }

        // Every seq below the persisted next-seq was accepted by SendAsync before the kill.
        var accepted = long.Parse(await File.ReadAllTextAsync(Path.Combine(State, "loadgen-lg.seq"), TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture) - 1;
        env["LoadGen__Count"] = accepted.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var connects = _broker.Connects.Count(c => c.Result == MqttConnectReasonCode.Success);
        await using var second = ModuleProcess.Start(dll, env);
        await TestBroker.WaitUntilAsync(() => _broker.Connects.Count(c => c.Result == MqttConnectReasonCode.Success) > connects && VerifyEvents().DistinctCount("lg") >= accepted, Wait, $"the {accepted} accepted messages after the restart\n" + second.Output);
        var v = VerifyEvents();
        v.Expect("lg", 1, accepted);
        var r = v.Report("lg");
        r.Passed.ShouldBeTrue(r.ToString());
        (await second.TerminateAsync(Wait)).ShouldBe(0, second.Output);
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
