using System.Text;
using Edge.Runtime.Auth;
using Edge.Runtime.Diagnostics;
using Edge.Protocol;
using Edge.TestSupport;
using MQTTnet.Protocol;

namespace Edge.Runtime.Tests;

public sealed class FaultTests() : BrokerTestBase("runtime-fault")
{
    [Fact]
    public async Task BrokerRestart_MidStream_NothingLostNothingMisordered()
    {
        await using var h = ClientHarness.Create(Broker, State);
        await h.StartAndWaitConnectedAsync();
        const int N = 600;
        var sender = Task.Run(async () =>
        {
            for (var i = 1; i <= N; i++)
            {
                var r = await h.Client.SendAsync("out", new EdgeMessage { Body = Encoding.UTF8.GetBytes($"{{\"source\":\"s\",\"seq\":{i}}}") }, CancellationToken.None);
                r.IsAccepted.ShouldBeTrue();
                if (i % 10 == 0) // ~1.2 s of sending: both restarts land mid-stream
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System, CancellationToken.None);
                }
            }
        }, TestContext.Current.CancellationToken);

        for (var restart = 0; restart < 2; restart++)
        {
            await TestBroker.WaitUntilAsync(() => Broker.Events.Count() > (restart + 1) * 100, Wait, "events before the restart");
            await Broker.StopAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System, TestContext.Current.CancellationToken);
            await Broker.StartAsync();
        }

        await sender;
        await TestBroker.WaitUntilAsync(() => h.Outbox.Count == 0 && VerifyEvents().DistinctCount("s") == N, Wait, "all messages after restarts");
        var report = VerifyEvents();
        report.Expect("s", 1, N);
        var r = report.Report("s");
        r.Passed.ShouldBeTrue(r.ToString());
        r.Duplicates.ShouldBeLessThanOrEqualTo(3 * 16, r.ToString());
        // The last restart may come after the last message: the reconnect that follows it is awaited, not assumed.
        await TestBroker.WaitUntilAsync(() => h.Client.ConnectCount >= 3 && h.Client.State == ConnectionState.Connected, Wait, "a reconnect after each restart");
        Broker.Subscriptions.Count(s => s.Filter == "devices/edge1/modules/mod1/#").ShouldBeGreaterThanOrEqualTo(3);
    }

    [Fact]
    public async Task LoadGen_KilledHardMidStream_RestartLosesNothing()
    {
        const int N = 800;
        var env = LoadGenEnvironment(rate: 400);
        env["LoadGen__Count"] = N.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var dll = ModuleProcess.BuiltDll("LoadGen");

        await using (var first = ModuleProcess.Start(dll, env))
        {
            await TestBroker.WaitUntilAsync(() => Broker.Events.Count() >= 250, Wait, "LoadGen's first messages\n" + first.Output);
            first.KillHard();
        }

        var killedAt = VerifyEvents().DistinctCount("lg");
        killedAt.ShouldBeLessThan(N);
        await using var second = ModuleProcess.Start(dll, env);
        try
        {
            await TestBroker.WaitUntilAsync(() => VerifyEvents().DistinctCount("lg") == N, Wait, "all messages after the restart");
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"killed at {killedAt}, now {VerifyEvents().Report("lg")}\n{second.Output}");
        }
        var v = VerifyEvents();
        v.Expect("lg", 1, N);
        var r = v.Report("lg");
        r.Passed.ShouldBeTrue(r.ToString());
        // Acknowledged-but-not-yet-deleted (two windows: one delete in progress, one collecting) + in flight (one window) + the sender's own unpersisted seq.
        r.Duplicates.ShouldBeLessThanOrEqualTo((3 * 16) + 1, r.ToString());
        (await second.TerminateAsync(TimeSpan.FromSeconds(20))).ShouldBe(0, second.Output);
        second.Output.ShouldNotContain("fail:");
    }

    [Fact]
    public async Task LoadGen_MissingSettings_OneClearErrorAndExitCode78()
    {
        var env = new Dictionary<string, string> { ["StateDirectory"] = State, ["EdgeHubConnectionString"] = "", ["IOTEDGE_WORKLOADURI"] = "" };
        await using var p = ModuleProcess.Start(ModuleProcess.BuiltDll("LoadGen"), env);
        var code = await p.WaitForExitAsync(Wait);
        code.ShouldBe(78, p.Output);
        p.Output.ShouldContain("IOTEDGE_WORKLOADURI: not set");
        p.Output.Split('\n').Count(l => l.Contains("Invalid runtime configuration", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Fact]
    public async Task LoadGen_SecondInstanceOnTheSameState_OneClearErrorExitCode78AndTheFirstKeepsSending()
    {
        var env = LoadGenEnvironment(rate: 50);
        var dll = ModuleProcess.BuiltDll("LoadGen");
        await using var first = ModuleProcess.Start(dll, env);
        await TestBroker.WaitUntilAsync(() => Broker.Events.Any(), Wait, "the first instance's messages\n" + first.Output);

        await using var second = ModuleProcess.Start(dll, env);
        (await second.WaitForExitAsync(Wait)).ShouldBe(78, second.Output);
        second.Output.ShouldContain("StateDirectory: the outbox ");
        second.Output.Split('\n').Count(l => l.Contains("Invalid runtime configuration", StringComparison.Ordinal)).ShouldBe(1);

        // The first instance still owns its outbox and keeps sending; the second never connected in its place.
        var before = Broker.Events.Count();
        await TestBroker.WaitUntilAsync(() => Broker.Events.Count() > before + 10, Wait, "the first instance to keep sending\n" + first.Output);
        Directory.GetFiles(State, "outbox.db.corrupt-*").ShouldBeEmpty();
        (await first.TerminateAsync(TimeSpan.FromSeconds(20))).ShouldBe(0, first.Output);
    }

    [Fact]
    public async Task Connect_ExpiredToken_RefusedThenRenewed()
    {
        var source = new ExpiredOnceTokenSource(Broker);
        await using var h = ClientHarness.Create(Broker, State, adjust: s => s with { Tokens = source });
        await h.StartAndWaitConnectedAsync();
        var connects = Broker.Connects.ToArray();
        connects[0].Result.ShouldBe(MqttConnectReasonCode.BadUserNameOrPassword);
        connects[^1].Result.ShouldBe(MqttConnectReasonCode.Success);
        source.Calls.ShouldBeGreaterThanOrEqualTo(2);
        h.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == RuntimeEventIds.HubConnectRefused);
    }

    [Fact]
    public async Task Token_NearExpiry_RenewedProactively()
    {
        await using var h = ClientHarness.Create(Broker, State, hub: o =>
        {
            o.TokenTtl = TimeSpan.FromSeconds(3);
            o.RenewAt = 0.4;
        });
        await h.StartAndWaitConnectedAsync();
        await TestBroker.WaitUntilAsync(() => Broker.Connects.Count(c => c.Result == MqttConnectReasonCode.Success) >= 2, Wait, "a reconnect with a new token");
        await TestBroker.WaitUntilAsync(() => h.Client.State == ConnectionState.Connected, Wait, "connected again");
        var ok = Broker.Connects.Where(c => c.Result == MqttConnectReasonCode.Success).ToArray();
        ok[0].Password.ShouldNotBe(ok[1].Password);
        h.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == RuntimeEventIds.RenewingToken);
        h.Errors.ShouldBeEmpty();
    }

    [Fact]
    public async Task Server_DropsConnection_ClientReconnectsAndResubscribes()
    {
        await using var h = ClientHarness.Create(Broker, State);
        await h.StartAndWaitConnectedAsync();
        await TestBroker.WaitUntilAsync(() => Broker.Subscriptions.Count == 4, Wait, "subscriptions");
        await Broker.DisconnectClientsAsync();
        await TestBroker.WaitUntilAsync(() => Broker.Subscriptions.Count == 8 && h.Client.State == ConnectionState.Connected, Wait, "resubscribed\n" + string.Join("\n", h.Collector.GetSnapshot().Select(r => $"{r.Timestamp:HH:mm:ss.fff} {r.Level} {r.Message} {r.Exception?.Message}")));
        var received = new TaskCompletionSource();
        h.Client.SetInputHandler("in", (a, ct) =>
        {
            received.TrySetResult();
            return Task.CompletedTask;
        });
        await Broker.SendInputAsync("in", [1]);
        await received.Task.WaitAsync(Wait, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Connect_WrongCa_RefusedAndLoggedClearly()
    {
        using var other = TestCertificates.Create("Some Other CA");
        var otherPem = other.WriteCaPem(Path.Combine(Root, "other"));
        await using var h = ClientHarness.Create(Broker, State, adjust: s => s with { Trust = new PemFileTrustSource(otherPem) });
        await h.Client.StartAsync(TestContext.Current.CancellationToken);
        await TestBroker.WaitUntilAsync(() => h.Collector.GetSnapshot().Any(r => r.Id.Id == RuntimeEventIds.CertificateRejected), Wait, "the certificate error");
        h.Client.State.ShouldNotBe(ConnectionState.Connected);
        Broker.Connects.ShouldBeEmpty();
        var error = h.Collector.GetSnapshot().First(r => r.Id.Id == RuntimeEventIds.CertificateRejected).Message;
        error.ShouldContain("does not chain to the configured edge CA");
        error.ShouldContain("Edge Test CA");
    }

    private sealed class ExpiredOnceTokenSource(TestBroker broker) : ISasTokenSource
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public ValueTask<SasToken> GetTokenAsync(DateTimeOffset expiresAt, CancellationToken ct)
        {
            var first = Interlocked.Increment(ref _calls) == 1;
            var resource = SasToken.ModuleResource(broker.HubHostName, broker.DeviceId, broker.ModuleId);
            return ValueTask.FromResult(SasToken.Create(resource, broker.SharedKey, first ? TimeProvider.System.GetUtcNow().AddMinutes(-1) : expiresAt));
        }
    }
}
