using System.Text.Json;
using System.Text.Json.Nodes;
using Inference.Events;
using Inference.Processing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Inference.Tests.Events;

public sealed class EventEngineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("events-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A face walking left to right across the frame at 5 fps (one detection per frame), optionally stopping a while.</summary>
    internal static IEnumerable<(double T, List<Detection> Dets)> Walk(int frames, double start = 1_700_000_000, float y = 0.4f, int stopFrom = -1, int stopTo = -1)
    {
        var x = 0.05f;
        for (var f = 0; f < frames; f++)
        {
            if (f < stopFrom || f >= stopTo)
            {
                x += 0.01f;
            }

            yield return (start + (f / 5.0), [new Detection(0, "face", 0.8f + (0.1f * (f % 3 == 0 ? 1 : 0)), new NormalizedBox(x, y, 0.1f, 0.12f))]);
        }
    }

    private static EventSettings Zoned(int inertia = 3, double loiter = 0, params string[] labels) => new()
    {
        Zones = new()
        {
            ["cam1"] = new()
            {
                ["middle"] = new ZoneSettings { Points = [[0.4f, 0f], [0.6f, 0f], [0.6f, 1f], [0.4f, 1f]], Inertia = inertia, LoiterSeconds = loiter, Labels = [.. labels] },
            },
        },
    };

    private static List<ObjectEvent> Run(EventEngine engine, IEnumerable<(double T, List<Detection> Dets)> frames, List<Detection>? after = null)
    {
        var events = new List<ObjectEvent>();
        long seq = 0;
        var last = 0.0;
        foreach (var (t, dets) in frames)
        {
            engine.Process(dets, t, seq++, null, null, events);
            last = t;
        }

        // Then nothing for 5 s: the object times out.
        for (var i = 1; i <= 25; i++)
        {
            engine.Process(after ?? [], last + (i / 5.0), seq++, null, null, events);
        }

        return events;
    }

    [Fact]
    public void Process_ObjectCrossesZone_NewEnteredLeftEnd()
    {
        var engine = new EventEngine("cam1", "r", Zoned());
        var events = Run(engine, Walk(80));
        string.Join(",", events.Select(e => e.Type + (e.Changes is null ? "" : "[" + string.Join("+", e.Changes.Where(c => c != "score")) + "]")))
            .ShouldBe("new,update[entered:middle],update[left:middle],end");
        events.ShouldAllBe(e => e.EventId == events[0].EventId && e.Label == "face");
        events[1].Zones.ShouldBe(["middle"]);
        events[2].Zones.ShouldBeEmpty();
        events[3].EnteredZones.ShouldBe(["middle"]);
        events[3].EndReason.ShouldBe("timeout");
        events[3].TopScore.ShouldBe(0.9f, 1e-4f);
        events[3].Path.Points.Count.ShouldBeGreaterThan(3);
        events[3].Path.Points.Count.ShouldBeLessThanOrEqualTo(16);
        (events[3].LastSeen - events[3].FirstSeen).TotalSeconds.ShouldBe(15.8, 0.01);
    }

    [Fact]
    public void Process_ZoneEntryNeedsInertiaFrames_EntersOnlyAfterThem()
    {
        var engine = new EventEngine("cam1", "r", Zoned(inertia: 8));
        var events = Run(engine, Walk(80));
        var entered = events.Single(e => e.Changes?.Contains("entered:middle") == true);

        // The centre crosses x = 0.4 when 0.05 + 0.01 f + 0.05 > 0.4, at f = 30; 8 frames inside → f = 37.
        ((entered.LastSeen.ToUnixTimeMilliseconds() / 1000.0) - 1_700_000_000).ShouldBe(37 / 5.0, 0.01);
    }

    [Fact]
    public void Process_LoiteringZone_CountsOnlyObjectsThatStay()
    {
        // Walking through (20 frames = 4 s inside) does not count with a 6 s loitering time; stopping inside for 10 s does.
        var passing = Run(new EventEngine("cam1", "r", Zoned(loiter: 6)), Walk(80));
        passing.ShouldNotContain(e => e.Zones.Count > 0 || e.EnteredZones.Count > 0);
        var staying = Run(new EventEngine("cam1", "r", Zoned(loiter: 6)), Walk(120, stopFrom: 40, stopTo: 90));
        staying.ShouldContain(e => e.Changes != null && e.Changes.Contains("entered:middle"));
        staying.ShouldContain(e => e.Changes != null && e.Changes.Contains("stationary"));
        staying.ShouldContain(e => e.Changes != null && e.Changes.Contains("moving"));
    }

    [Fact]
    public void Process_ZoneForOtherLabels_IgnoresObject()
    {
        var events = Run(new EventEngine("cam1", "r", Zoned(labels: "person")), Walk(80));
        events.Select(e => e.Type).ShouldBe(["new", "end"]);
    }

    [Fact]
    public void Process_ObjectLeavesThroughEdge_EndReasonLeft()
    {
        var events = Run(new EventEngine("cam1", "r", new EventSettings()), Walk(100));
        events.Last().EndReason.ShouldBe("left");
    }

    [Fact]
    public void TryBind_InvalidZone_RejectedWithPathAndDefaultsKept()
    {
        var bad = JsonNode.Parse("""{"zones": {"cam1": {"door": {"points": [[0.1, 0.1], [1.5, 0.2], [0.3, 0.9]]}}}}""");
        EventPipeline.TryBind(bad, new EventSettings(), out var settings, out var errors).ShouldBeFalse();
        errors.ShouldHaveSingleItem().ShouldContain("cam1.door: points[1]");
        settings.Zones.ShouldBeEmpty();

        var flat = JsonNode.Parse("""{"zones": {"cam1": {"line": {"points": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]}}}}""");
        EventPipeline.TryBind(flat, new EventSettings(), out _, out errors).ShouldBeFalse();
        errors.ShouldHaveSingleItem().ShouldContain("no area");

        var typo = JsonNode.Parse("""{"minscor": 0.4}""");
        EventPipeline.TryBind(typo, new EventSettings(), out _, out errors).ShouldBeFalse();

        var good = JsonNode.Parse("""{"minScore": 0.4, "zones": {"cam1": {"door": {"points": [[0.1, 0.1], [0.5, 0.1], [0.3, 0.9]], "inertia": 2, "labels": ["face"]}}}}""");
        EventPipeline.TryBind(good, new EventSettings(), out settings, out errors).ShouldBeTrue(string.Join("; ", errors));
        settings.Zones["cam1"]["door"].Inertia.ShouldBe(2);
    }

    [Fact]
    public async Task RecoverAsync_OpenObjectsAtStop_EndedWithReasonRestartAfterTheirNew()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var client = new TestModuleClient();
        using (var first = new EventPipeline(client, _dir, new EventSettings(), time, NullLogger.Instance))
        {
            await first.RecoverAsync(CancellationToken.None);
            long seq = 0;
            foreach (var (t, dets) in Walk(20))
            {
                await first.OnFrameAsync("cam1", seq++, DateTimeOffset.FromUnixTimeMilliseconds((long)(t * 1000)).ToString("O"), null, null, dets, CancellationToken.None);
            }

            first.NewSent.ShouldBe(1);
        }

        // The process stops (or is killed) with the object open; the next start ends it.
        using var second = new EventPipeline(client, _dir, new EventSettings(), time, NullLogger.Instance);
        await second.RecoverAsync(CancellationToken.None);
        var sent = Events(client);
        sent.Select(e => e.Type).ShouldBe(["new", "end"]);
        sent[1].EndReason.ShouldBe("restart");
        sent[1].EventId.ShouldBe(sent[0].EventId);
        client.SentTo(EventPipeline.EventsOutput).Select(m => m.MessageId).ShouldBe([sent[0].EventId + ":new", sent[0].EventId + ":end"]);

        // A third start has nothing left to end.
        using var third = new EventPipeline(client, _dir, new EventSettings(), time, NullLogger.Instance);
        await third.RecoverAsync(CancellationToken.None);
        Events(client).Count.ShouldBe(2);
    }

    [Fact]
    public async Task RecoverAsync_DiedBeforeNewWasAccepted_SendsNewThenEnd()
    {
        // The state a crash between recording an object and the outbox accepting its 'new' leaves behind.
        var e = new ObjectEvent("new", "cam1-r-1", "cam1", 1, "face", 0.9f, 0.9f, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, [], [], false,
            new EventBox(0, 0, 0.1f, 0.1f), new EventPath([], 0, 3), new EventSnapshot(1, null, null, 0.9f, new EventBox(0, 0, 0.1f, 0.1f)));
        var state = new EventState([new OpenEvent(e, NewSent: false)], DateTimeOffset.UnixEpoch, []);
        Directory.CreateDirectory(Path.Combine(_dir, "events"));
        await File.WriteAllBytesAsync(Path.Combine(_dir, "events", "state.json"), JsonSerializer.SerializeToUtf8Bytes(state, EventsJsonContext.Default.EventState), TestContext.Current.CancellationToken);

        var client = new TestModuleClient();
        using var pipeline = new EventPipeline(client, _dir, new EventSettings(), new FakeTimeProvider(), NullLogger.Instance);
        await pipeline.RecoverAsync(CancellationToken.None);
        var sent = Events(client);
        sent.Select(x => (x.Type, x.Replayed, x.EndReason)).ShouldBe([("new", (bool?)true, (string?)null), ("end", null, "restart")]);
    }

    [Fact]
    public async Task SendSummaryAsync_AfterEvents_CountsObjectsPerLabelAndZoneEntries()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var client = new TestModuleClient();
        using var pipeline = new EventPipeline(client, _dir, Zoned(), time, NullLogger.Instance);
        long seq = 0;
        foreach (var (t, dets) in Walk(80))
        {
            await pipeline.OnFrameAsync("cam1", seq++, DateTimeOffset.FromUnixTimeMilliseconds((long)(t * 1000)).ToString("O"), null, null, dets, CancellationToken.None);
        }

        time.Advance(TimeSpan.FromHours(1));
        await pipeline.SendSummaryAsync(CancellationToken.None);
        var summary = JsonNode.Parse(client.SentTo(EventPipeline.SummaryOutput).Single().BodyAsString())!;
        summary["cameras"]!["cam1"]!["objects"]!["face"]!.GetValue<int>().ShouldBe(1);
        summary["cameras"]!["cam1"]!["zones"]!["middle"]!["face"]!.GetValue<int>().ShouldBe(1);
    }

    internal static List<ObjectEvent> Events(TestModuleClient client) =>
        client.SentTo(EventPipeline.EventsOutput).Select(m => JsonSerializer.Deserialize(m.Body.Span, EventsJsonContext.Default.ObjectEvent)!).ToList();
}
