using Inference.Events;
using Inference.Processing;
using Inference.Tracking;

namespace Inference.Tests.Tracking;

public sealed class TrackerQualityTests(ITestOutputHelper output)
{
    /// <summary>Frames a confirmed object is reported at its predicted box after its last detection (1 s at 5 fps).</summary>
    private const int CoastFrames = 5;

    private static bool Inside(NormalizedBox b) => b.X > 0.02 && b.Y > 0.02 && b.X + b.W < 0.98 && b.Y + b.H < 0.98;

    internal static MotMetrics Evaluate(List<SceneFrame> frames, EventSettings settings)
    {
        var tracker = new ObjectTracker();
        var metrics = new MotMetrics();
        foreach (var frame in frames)
        {
            tracker.Update(frame.Detections, frame.Time, settings);
            // What the tracker reports: confirmed objects, at their detection, or at the filter's prediction while coasting through a miss.
            var hyp = tracker.Tracks.Where(t => t.Confirmed && t.Misses <= CoastFrames && (t.MatchedThisFrame || Inside(t.Estimate))).Select(t => new Labeled(t.Id, t.MatchedThisFrame ? t.Box : t.Estimate)).ToList();
            metrics.AddFrame(frame.Truth, hyp);
        }

        return metrics;
    }

    [Fact]
    public void Update_GeneratedSequences_Idf1AtLeast090AndAtMostOneIdSwitchPerTenTracks()
    {
        var settings = new EventSettings();
        int gtBoxes = 0, hypBoxes = 0, switches = 0, tracks = 0;
        double idtp2 = 0, errors = 0;
        foreach (var (name, frames) in SyntheticScenes.All())
        {
            var m = Evaluate(frames, settings);
            output.WriteLine($"{name,-17} {m}");
            foreach (var line in m.SwitchLog)
            {
                output.WriteLine("  ID switch " + line);
            }

            gtBoxes += m.GroundTruth;
            hypBoxes += m.Hypotheses;
            switches += m.IdSwitches;
            tracks += m.GroundTruthTracks;
            idtp2 += m.Idf1() * (m.GroundTruth + m.Hypotheses);
            errors += m.Misses + m.FalsePositives + m.IdSwitches;
        }

        var idf1 = idtp2 / (gtBoxes + hypBoxes);
        var mota = 1 - (errors / gtBoxes);
        output.WriteLine($"all: GT tracks {tracks}, IDSW {switches} ({10.0 * switches / tracks:F2} per 10 tracks), IDF1 {idf1:F3}, MOTA {mota:F3}");
        idf1.ShouldBeGreaterThanOrEqualTo(0.9);
        (10.0 * switches / tracks).ShouldBeLessThanOrEqualTo(1.0);
    }

    [Fact]
    public void Update_OneFrameFalsePositives_NeverConfirmed()
    {
        var tracker = new ObjectTracker();
        var settings = new EventSettings();
        var rng = new Random(7);
        for (var f = 0; f < 500; f++)
        {
            // A one-frame high-score blip per frame (each in another corner of the frame, so no two are the same object), and a
            // low-score object that stays: neither may be confirmed.
            var s = 0.08f;
            var corner = f % 4;
            var x = (corner % 2 == 0 ? 0.02f : 0.72f) + ((float)rng.NextDouble() * 0.15f);
            var y = (corner < 2 ? 0.02f : 0.72f) + ((float)rng.NextDouble() * 0.15f);
            List<Detection> dets =
            [
                new(0, "face", 0.95f, new NormalizedBox(x, y, s, s)),
                new(0, "face", 0.6f, new NormalizedBox(0.4f, 0.4f, 0.1f, 0.1f)),
            ];
            tracker.Update(dets, f / 5.0, settings);
            tracker.Tracks.ShouldAllBe(t => !t.Confirmed);
        }
    }

    [Fact]
    public void Update_ObjectStopsThenMoves_StationaryFlagsBothChanges()
    {
        var tracker = new ObjectTracker();
        var settings = new EventSettings { StationarySeconds = 3 };
        var changes = new List<(double T, bool Stationary)>();
        for (var f = 0; f < 100; f++)
        {
            var t = f / 5.0;
            var x = f < 20 ? 0.1f + (0.01f * f) : f < 60 ? 0.3f : 0.3f + (0.01f * (f - 60));
            tracker.Update([new Detection(0, "face", 0.9f, new NormalizedBox(x, 0.4f, 0.1f, 0.1f))], t, settings);
            var track = tracker.Tracks.ShouldHaveSingleItem();
            if (track.StationaryChanged)
            {
                changes.Add((t, track.Stationary));
            }
        }

        changes.Count.ShouldBe(2);
        changes[0].Stationary.ShouldBeTrue();
        changes[0].T.ShouldBeInRange(4 + 3 - 0.5, 4 + 3 + 1.5);
        changes[1].Stationary.ShouldBeFalse();
        changes[1].T.ShouldBeInRange(12, 14);
    }

    [Fact]
    public void Hungarian_Rectangular_FindsMinimumAssignment()
    {
        var cost = new double[,] { { 4, 1, 3 }, { 2, 0, 5 } };
        Hungarian.Solve(cost).ShouldBe([1, 0]); // 1 + 2 = 3 beats 0 + 3 and 4 + 0
        var tall = new double[,] { { 4, 9 }, { 1, 0 }, { 3, 5 } };
        Hungarian.Solve(tall).ShouldBe([-1, 1, 0]); // rows 2 and 3: 0 + 3
    }

    [Fact]
    public void MotMetrics_KnownSwitch_CountsOneSwitchAndLowerIdf1()
    {
        var m = new MotMetrics();
        var box = new NormalizedBox(0.1f, 0.1f, 0.2f, 0.2f);
        for (var f = 0; f < 10; f++)
        {
            m.AddFrame([new Labeled(1, box)], [new Labeled(f < 5 ? 100 : 200, box)]);
        }

        m.IdSwitches.ShouldBe(1);
        m.Mota.ShouldBe(0.9, 1e-9);
        m.Idf1().ShouldBe(0.5, 1e-9);
    }
}
