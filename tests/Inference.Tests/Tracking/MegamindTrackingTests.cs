using Edge.TestSupport;
using Inference.Events;
using Inference.Models;
using Inference.Processing;
using Inference.Tracking;
using OpenCvSharp;

namespace Inference.Tests.Tracking;

/// <summary>
/// The real pipeline on real media: every frame of Megamind.avi through BlazeFace front-128 (the module's profile, preprocessing,
/// NMS and the default deployment's thresholds), then the tracker. The face must keep one id per continuous shot.
/// </summary>
public sealed class MegamindTrackingTests(ITestOutputHelper output)
{
    /// <summary>
    /// First frame of each shot of Megamind.avi (270 frames, 23.976 fps, 720×528), checked by eye on frames extracted with
    /// OpenCV: the HSV-histogram (Bhattacharyya) distance between consecutive frames jumps to about 0.3 at 98, 154 and 200 (and
    /// 0.95 at frame 1: frame 0 is black); every other frame pair is below 0.08. Frames 97/98, 153/154 and 199/200 were looked at:
    /// each is a cut (woman at the table → man facing her → woman, closer → man, close-up).
    /// </summary>
    internal static readonly int[] ShotStarts = [0, 98, 154, 200];

    /// <summary>Faces in each shot, by eye: shot 1 has the woman and a man at a table behind her; the others one face each.</summary>
    internal static readonly int[] FacesPerShot = [2, 1, 1, 1];

    private static readonly ThresholdSettings Deployment = new() { MinScore = 0.6, MaxDetections = 20, NmsIou = 0.3 };

    internal static List<(int Frame, double Time, List<Detection> Faces)> DetectAll(int step)
    {
        using var model = LoadedModel.Load(Assets.BlazeFaceFront128, "test", new ModelSettings { Url = Assets.BlazeFaceFront128, Profile = ModelProfile.Blazeface }, null, new SessionConfig("cpu", 1));
        using var capture = new VideoCapture(Assets.Megamind);
        var fps = capture.Fps > 0 ? capture.Fps : 24;
        var result = new List<(int, double, List<Detection>)>();
        using var frame = new Mat();
        for (var i = 0; capture.Read(frame) && !frame.Empty(); i++)
        {
            if (i % step != 0)
            {
                continue;
            }

            var raw = new List<Detection>();
            model.Infer(frame, DetectionFilter.LowestMinScore(Deployment), (float)Deployment.NmsIou!.Value, raw);
            result.Add((i, i / fps, DetectionFilter.Apply(raw, Deployment)));
        }

        return result;
    }

    [Theory]
    [InlineData(1)] // every frame of the video
    [InlineData(5)] // about 5 fps, as the default deployment samples a 24-25 fps source
    public void Update_MegamindThroughBlazeFace_AtMostOneExtraIdPerShot(int step)
    {
        var frames = DetectAll(step);
        var tracker = new ObjectTracker();
        var settings = new EventSettings();
        var idsPerShot = new Dictionary<int, HashSet<long>>();
        var spans = new Dictionary<long, (int First, int Last, int Hits, float X, float Y)>();
        foreach (var (frame, time, faces) in frames)
        {
            tracker.Update(faces, time, settings);
            var shot = ShotStarts.Last(s => s <= frame);
            foreach (var t in tracker.Tracks.Where(t => t.Confirmed && t.MatchedThisFrame))
            {
                (idsPerShot.TryGetValue(shot, out var ids) ? ids : idsPerShot[shot] = []).Add(t.Id);
                var sp = spans.TryGetValue(t.Id, out var v) ? v : (First: frame, Last: frame, Hits: 0, X: 0f, Y: 0f);
                spans[t.Id] = (sp.First, frame, sp.Hits + 1, sp.X + t.Box.X + (t.Box.W / 2), sp.Y + t.Box.Y + (t.Box.H / 2));
            }
        }

        foreach (var (shot, ids) in idsPerShot.OrderBy(kv => kv.Key))
        {
            output.WriteLine($"step {step}: shot from frame {shot}: ids {string.Join(", ", ids.Select(i => $"{i} (frames {spans[i].First}-{spans[i].Last}, {spans[i].Hits} hits, centre {spans[i].X / spans[i].Hits:F2},{spans[i].Y / spans[i].Hits:F2})"))}");
        }

        idsPerShot.Count.ShouldBe(ShotStarts.Length);
        foreach (var (shot, ids) in idsPerShot)
        {
            var extra = ids.Count - FacesPerShot[Array.IndexOf(ShotStarts, shot)];
            extra.ShouldBeLessThanOrEqualTo(1, $"shot from frame {shot}");
        }
    }
}

/// <summary>
/// The default deployment's upstream traffic on Megamind looped: 1 camera at 5 fps for 10 minutes (3,000 frames) through
/// BlazeFace and the event engine with the deployment's events settings; upstream = events + the hourly summary, against the
/// one detections message per frame sent before.
/// </summary>
public sealed class MegamindUpstreamTests(ITestOutputHelper output)
{
    [Fact]
    public void Process_TenMinutesOfMegamindAt5Fps_UpstreamMessagesFarBelowOnePerFrame()
    {
        var once = MegamindTrackingTests.DetectAll(5);
        var settings = new EventSettings { MinScore = 0.6, ConfirmScore = 0.7, MinHits = 3, MaxAgeSeconds = 2 };
        var engine = new EventEngine("cam1", "run", settings);
        var events = new List<ObjectEvent>();
        var loopSeconds = 270 / 23.976;
        var frames = 0;
        for (var loop = 0; frames < 3000; loop++)
        {
            foreach (var (frame, time, faces) in once)
            {
                engine.Process(faces, 1_700_000_000 + (loop * loopSeconds) + time, frames, null, null, events);
                if (++frames == 3000)
                {
                    break;
                }
            }
        }

        var seconds = frames / 5.0;
        var upstream = events.Count + (seconds / 3600.0); // plus the hourly summary, pro rata
        var ratio = frames / upstream;
        output.WriteLine($"{frames} frames ({seconds / 60:F1} min at 5 fps): {events.Count(e => e.Type == "new")} new, {events.Count(e => e.Type == "update")} update, {events.Count(e => e.Type == "end")} end; upstream {upstream:F1} vs {frames} one-per-frame = {ratio:F1}x fewer; projected {upstream / seconds * 86400:F0}/day");
        ratio.ShouldBeGreaterThanOrEqualTo(5);
    }
}
