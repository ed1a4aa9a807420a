using Edge.Runtime.Diagnostics;
using Edge.Runtime.Outbox;
using Edge.TestSupport;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Edge.Runtime.Tests;

/// <summary>A real LoadGen process: graceful stop (SIGTERM) and its default source id.</summary>
public sealed class ShutdownTests() : BrokerTestBase("runtime-shutdown")
{
    [Fact]
    public async Task LoadGen_SigtermWhileSending_OutboxFlushedBeforeExit()
    {
        var env = LoadGenEnvironment(rate: 0); // as fast as the outbox accepts: SendAsync is still accepting when the stop begins
        await using var p = ModuleProcess.Start(ModuleProcess.BuiltDll("LoadGen"), env);
        await TestBroker.WaitUntilAsync(() => Broker.Events.Count() >= 500, Wait, "LoadGen's first messages\n" + p.Output);

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
        var env = LoadGenEnvironment(rate: 0);
        var dll = ModuleProcess.BuiltDll("LoadGen");
        await using (var first = ModuleProcess.Start(dll, env))
        {
            await TestBroker.WaitUntilAsync(() => Broker.Events.Count() >= 1500, Wait, "LoadGen's first messages\n" + first.Output);
            first.KillHard();
        }

        // Every seq below the persisted next-seq was accepted by SendAsync before the kill.
        var accepted = long.Parse(await File.ReadAllTextAsync(Path.Combine(State, "loadgen-lg.seq"), TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture) - 1;
        env["LoadGen__Count"] = accepted.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var connects = Broker.Connects.Count(c => c.Result == MqttConnectReasonCode.Success);
        await using var second = ModuleProcess.Start(dll, env);
        await TestBroker.WaitUntilAsync(() => Broker.Connects.Count(c => c.Result == MqttConnectReasonCode.Success) > connects && VerifyEvents().DistinctCount("lg") >= accepted, Wait, $"the {accepted} accepted messages after the restart\n" + second.Output);
        var v = VerifyEvents();
        v.Expect("lg", 1, accepted);
        var r = v.Report("lg");
        r.Passed.ShouldBeTrue(r.ToString());
        (await second.TerminateAsync(Wait)).ShouldBe(0, second.Output);
    }

    [Fact]
    public async Task LoadGen_NoSourceSet_SourceIsTheModuleId()
    {
        var env = Broker.ModuleEnvironment(State);
        env["LoadGen__Rate"] = "100";
        env["LoadGen__Count"] = "20";
        env["RuntimeLogLevel"] = "warning";
        await using var p = ModuleProcess.Start(ModuleProcess.BuiltDll("LoadGen"), env);
        await TestBroker.WaitUntilAsync(() => VerifyEvents().DistinctCount(Broker.ModuleId) == 20, Wait, $"20 messages from source {Broker.ModuleId}\n" + p.Output);
        VerifyEvents().DistinctCount("loadgen").ShouldBe(0);
        File.Exists(Path.Combine(State, $"loadgen-{Broker.ModuleId}.seq")).ShouldBeTrue();
        (await p.TerminateAsync(Wait)).ShouldBe(0, p.Output);
    }
}
