using System.Text.Json.Nodes;
using Edge.Runtime.Twins;
using Edge.TestSupport;

namespace Edge.Runtime.Tests;

public sealed class TwinTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempDirectory _dir = new("runtime-twin");
    private readonly List<DesiredPropertiesArguments> _calls = [];
    private TestBroker _broker = null!;

    private string State => Path.Combine(_dir.Path, "state");

    public async ValueTask InitializeAsync() => _broker = await TestBroker.StartAsync(_dir.Path);

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        _dir.Dispose();
    }

    private ClientHarness Harness(Func<JsonObject, string?>? validate = null)
    {
        var h = ClientHarness.Create(_broker, State);
        h.Client.SetDesiredPropertiesHandler((args, ct) =>
        {
            lock (_calls)
            {
                _calls.Add(args);
            }

            var error = validate?.Invoke(args.Desired);
            return Task.FromResult(error is null
                ? DesiredPropertiesResult.Applied(new JsonObject { ["threshold"] = args.Desired["threshold"]?.DeepClone() })
                : DesiredPropertiesResult.Rejected(error));
        });
        return h;
    }

    private int Calls
    {
        get
        {
            lock (_calls)
            {
                return _calls.Count;
            }
        }
    }

    private DesiredPropertiesArguments Last
    {
        get
        {
            lock (_calls)
            {
                return _calls[^1];
            }
        }
    }

    [Fact]
    public async Task Connect_FullTwin_HandlerCalledReportedAndPersisted()
    {
        _broker.SetDesired(new JsonObject { ["threshold"] = 5 }, 7);
        await using var h = Harness();
        await h.StartAndWaitConnectedAsync();
        await TestBroker.WaitUntilAsync(() => _broker.Reported["lastDesiredVersion"] is not null, Wait, "the reported status");

        _broker.Publishes.ShouldContain(p => p.Topic.StartsWith("$iothub/twin/GET/?$rid=", StringComparison.Ordinal) && p.Payload.Length == 0);
        Last.Version.ShouldBe(7);
        Last.FromCache.ShouldBeFalse();
        Last.Desired["threshold"]!.GetValue<int>().ShouldBe(5);
        Last.Desired.ContainsKey("$version").ShouldBeFalse();
        _broker.Reported["lastDesiredVersion"]!.GetValue<long>().ShouldBe(7);
        _broker.Reported["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(200);
        _broker.Reported["threshold"]!.GetValue<int>().ShouldBe(5);
        var saved = await new DesiredStore(State).LoadAsync(TestContext.Current.CancellationToken);
        saved!.Value.Version.ShouldBe(7);
        h.Errors.ShouldBeEmpty();
    }

    [Fact]
    public async Task Patch_NextVersion_MergedOntoLastDocument()
    {
        _broker.SetDesired(new JsonObject { ["threshold"] = 5, ["mode"] = "a" }, 1);
        await using var h = Harness();
        await h.StartAndWaitConnectedAsync();
        await TestBroker.WaitUntilAsync(() => Calls == 1, Wait, "the first call");

        await _broker.PatchDesiredAsync(new JsonObject { ["threshold"] = 9, ["mode"] = null });
        await TestBroker.WaitUntilAsync(() => Calls == 2, Wait, "the patch");
        Last.Version.ShouldBe(2);
        Last.Desired.ToJsonString().ShouldBe("{\"threshold\":9}");
        await TestBroker.WaitUntilAsync(() => _broker.Reported["lastDesiredVersion"]?.GetValue<long>() == 2, Wait, "version 2 reported");
        _broker.Publishes.Count(p => p.Topic.StartsWith("$iothub/twin/GET", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Fact]
    public async Task Patch_VersionGap_ResyncsFullTwin()
    {
        _broker.SetDesired(new JsonObject { ["threshold"] = 5 }, 1);
        await using var h = Harness();
        await h.StartAndWaitConnectedAsync();
        await TestBroker.WaitUntilAsync(() => Calls == 1, Wait, "the first call");

        // Version 2 is lost: the client sees 3 and must GET the whole twin.
        await _broker.PatchDesiredAsync(new JsonObject { ["threshold"] = 6 }, versionStep: 2);
        await TestBroker.WaitUntilAsync(() => _broker.Publishes.Count(p => p.Topic.StartsWith("$iothub/twin/GET", StringComparison.Ordinal)) == 2, Wait, "a second GET");
        await TestBroker.WaitUntilAsync(() => Calls == 2, Wait, "the resynced call");
        Last.Version.ShouldBe(3);
        Last.Desired["threshold"]!.GetValue<int>().ShouldBe(6);
    }

    [Fact]
    public async Task Patch_Invalid_RejectedReportedAndLastGoodKept()
    {
        _broker.SetDesired(new JsonObject { ["threshold"] = 5 }, 1);
        await using var h = Harness(d => d["threshold"]!.GetValue<int>() < 0 ? "threshold: must be >= 0" : null);
        await h.StartAndWaitConnectedAsync();
        await TestBroker.WaitUntilAsync(() => Calls == 1, Wait, "the first call");

        await _broker.PatchDesiredAsync(new JsonObject { ["threshold"] = -1 });
        await TestBroker.WaitUntilAsync(() => _broker.Reported["lastDesiredStatus"]?["code"]?.GetValue<int>() == 400, Wait, "the rejection");
        _broker.Reported["lastDesiredStatus"]!["description"]!.GetValue<string>().ShouldBe("threshold: must be >= 0");
        _broker.Reported["lastDesiredVersion"]!.GetValue<long>().ShouldBe(2);
        var saved = await new DesiredStore(State).LoadAsync(TestContext.Current.CancellationToken);
        saved!.Value.Version.ShouldBe(1);
        saved.Value.Desired["threshold"]!.GetValue<int>().ShouldBe(5);
    }

    [Fact]
    public async Task Start_Offline_HandlerGetsLastKnownGoodFromCache()
    {
        await new DesiredStore(State).SaveAsync(new JsonObject { ["threshold"] = 42 }, 12, TestContext.Current.CancellationToken);
        await _broker.StopAsync();
        await using var h = Harness();
        await h.Client.StartAsync(TestContext.Current.CancellationToken);
        Calls.ShouldBe(1);
        Last.FromCache.ShouldBeTrue();
        Last.Version.ShouldBe(12);
        Last.Desired["threshold"]!.GetValue<int>().ShouldBe(42);
        h.Client.State.ShouldNotBe(ConnectionState.Connected);
    }

    [Fact]
    public async Task ReportProperties_WhileOffline_MergedAndSentAfterConnect()
    {
        await _broker.StopAsync();
        await using var h = Harness();
        await h.Client.StartAsync(TestContext.Current.CancellationToken);
        await h.Client.ReportPropertiesAsync(new JsonObject { ["a"] = 1, ["b"] = new JsonObject { ["x"] = 1 } }, TestContext.Current.CancellationToken);
        await h.Client.ReportPropertiesAsync(new JsonObject { ["a"] = 2, ["b"] = new JsonObject { ["y"] = 2 }, ["c"] = null }, TestContext.Current.CancellationToken);
        await _broker.StartAsync();
        await TestBroker.WaitUntilAsync(() => _broker.Reported["a"] is not null, Wait, "the reported patch");
        var first = _broker.ReportedPatches.First(p => p.ContainsKey("a"));
        first["a"]!.GetValue<int>().ShouldBe(2);
        first["b"]!.ToJsonString().ShouldBe("{\"x\":1,\"y\":2}");
        first.ContainsKey("c").ShouldBeTrue();
        first["c"].ShouldBeNull();
    }
}
