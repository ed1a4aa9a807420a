using Inference.Processing;

namespace Inference.Tests.Tracking;

/// <summary>One generated frame: time, the ground truth (objects at least half visible) and what a detector reported.</summary>
internal sealed record SceneFrame(double Time, List<Labeled> Truth, List<Detection> Detections);

/// <summary>
/// Generated ground-truth sequences at 5 fps for tracker evaluation: objects move (straight, crossing, bouncing), enter and
/// leave through the frame edges, hide behind each other (the one further back is not detected while more than half of it is
/// covered; the ground truth keeps it only while at least half of it is visible), and the simulated detector misses boxes,
/// jitters them (Gaussian noise proportional to the box size) and adds one-frame false positives with low scores; then, like the
/// module, non-maximum suppression at IoU 0.3 keeps one of two heavily overlapping boxes.
/// Everything is seeded: the same scene is the same frames every run.
/// </summary>
internal static class SyntheticScenes
{
    public const double Fps = 5;

    /// <summary>An object: a position function of the frame index, its size, when it exists, and its depth (lower = in front).</summary>
    private sealed record Actor(long Id, int From, int To, Func<int, (double X, double Y)> Centre, double W, double H, int Depth);

    public static IEnumerable<(string Name, List<SceneFrame> Frames)> All()
    {
        yield return ("crossing", Crossing());
        yield return ("occlusion", Occlusion());
        yield return ("missed-frames", Missed());
        yield return ("noisy-boxes", Noisy());
        yield return ("entering-leaving", EnteringLeaving());
        yield return ("crowd", Crowd());
    }

    /// <summary>Two pairs crossing head-on, horizontally and vertically, the rear one hidden while they overlap.</summary>
    public static List<SceneFrame> Crossing()
    {
        var v = 0.15 / Fps;
        Actor[] actors =
        [
            new(1, 0, 120, f => (0.1 + (v * f), 0.5), 0.1, 0.12, 0),
            new(2, 0, 120, f => (0.9 - (v * f), 0.52), 0.1, 0.12, 1),
            new(3, 10, 130, f => (0.3, 0.1 + (v * (f - 10))), 0.09, 0.11, 0),
            new(4, 10, 130, f => (0.32, 0.9 - (v * (f - 10))), 0.09, 0.11, 1),
        ];
        return Render(actors, 140, seed: 1, miss: 0.05, noise: 0.03, falsePositives: 0.05);
    }

    /// <summary>A small object passes behind a large, slow one (hidden for several frames) and comes out the other side.</summary>
    public static List<SceneFrame> Occlusion()
    {
        Actor[] actors =
        [
            new(1, 0, 150, f => (0.45 + (0.01 * Math.Sin(f / 20.0)), 0.5), 0.24, 0.3, 0),
            new(2, 0, 150, f => (0.08 + (0.12 / Fps * f), 0.5), 0.09, 0.11, 1),
            new(3, 30, 150, f => (0.9 - (0.1 / Fps * (f - 30)), 0.45), 0.08, 0.1, 2),
        ];
        return Render(actors, 150, seed: 2, miss: 0.05, noise: 0.03, falsePositives: 0.05);
    }

    /// <summary>A quarter of the detections missed at random, and each object missed for 5 frames (1 s) in a row once.</summary>
    public static List<SceneFrame> Missed()
    {
        var rng = new Random(3);
        var actors = Enumerable.Range(1, 5).Select(i => Linear(i, rng, 0, 150)).ToArray();
        var gaps = actors.ToDictionary(a => a.Id, _ => rng.Next(20, 120));
        return Render(actors, 150, seed: 3, miss: 0.25, noise: 0.03, falsePositives: 0.05, extraMiss: (id, f) => f >= gaps[id] && f < gaps[id] + 5);
    }

    /// <summary>Boxes jittered by 8 % of their size (centre and size).</summary>
    public static List<SceneFrame> Noisy()
    {
        var rng = new Random(4);
        var actors = Enumerable.Range(1, 6).Select(i => Linear(i, rng, 0, 150)).ToArray();
        return Render(actors, 150, seed: 4, miss: 0.05, noise: 0.08, falsePositives: 0.1);
    }

    /// <summary>Ten objects entering through one edge at staggered times and leaving through the opposite one.</summary>
    public static List<SceneFrame> EnteringLeaving()
    {
        var rng = new Random(5);
        var actors = new List<Actor>();
        for (var i = 1; i <= 10; i++)
        {
            var from = (i - 1) * 14;
            var horizontal = i % 2 == 0;
            var lane = 0.15 + (0.7 * rng.NextDouble());
            var speed = (0.12 + (0.1 * rng.NextDouble())) / Fps;
            var reverse = rng.Next(2) == 0;
            var size = 0.07 + (0.05 * rng.NextDouble());
            var span = (int)Math.Ceiling((1 + (2 * size)) / speed);
            actors.Add(new Actor(i, from, from + span, f =>
            {
                var s = -size + (speed * (f - from));
                var p = reverse ? 1 - s : s;
                return horizontal ? (p, lane) : (lane, p);
            }, size, size * 1.2, i));
        }

        return Render(actors, 220, seed: 5, miss: 0.08, noise: 0.04, falsePositives: 0.05);
    }

    /// <summary>Twelve objects bouncing around the frame, meeting and covering each other.</summary>
    public static List<SceneFrame> Crowd()
    {
        var rng = new Random(6);
        var actors = new List<Actor>();
        for (var i = 1; i <= 12; i++)
        {
            var size = 0.06 + (0.05 * rng.NextDouble());
            var x0 = 0.1 + (0.8 * rng.NextDouble());
            var y0 = 0.1 + (0.8 * rng.NextDouble());
            var angle = rng.NextDouble() * 2 * Math.PI;
            var speed = (0.05 + (0.1 * rng.NextDouble())) / Fps;
            var (vx, vy) = (Math.Cos(angle) * speed, Math.Sin(angle) * speed);
            actors.Add(new Actor(i, 0, 150, f => (Bounce(x0 + (vx * f), size / 2), Bounce(y0 + (vy * f), size / 2)), size, size * 1.2, i));
        }

        return Render(actors, 150, seed: 6, miss: 0.08, noise: 0.04, falsePositives: 0.05);
    }

    private static Actor Linear(long id, Random rng, int from, int to)
    {
        var size = 0.07 + (0.05 * rng.NextDouble());
        var x0 = 0.15 + (0.7 * rng.NextDouble());
        var y0 = 0.15 + (0.7 * rng.NextDouble());
        var angle = rng.NextDouble() * 2 * Math.PI;
        var speed = (0.03 + (0.07 * rng.NextDouble())) / Fps;
        return new Actor(id, from, to, f => (Bounce(x0 + (Math.Cos(angle) * speed * f), size / 2), Bounce(y0 + (Math.Sin(angle) * speed * f), size / 2)), size, size * 1.2, (int)id);
    }

    /// <summary>Reflects a coordinate into [m, 1 − m] (a ball bouncing between walls).</summary>
    private static double Bounce(double p, double m)
    {
        var span = 1 - (2 * m);
        var q = (p - m) % (2 * span);
        if (q < 0)
        {
            q += 2 * span;
        }

        return m + (q <= span ? q : (2 * span) - q);
    }

    private static List<SceneFrame> Render(IReadOnlyList<Actor> actors, int frames, int seed, double miss, double noise, double falsePositives, Func<long, int, bool>? extraMiss = null)
    {
        var rng = new Random(seed);
        var result = new List<SceneFrame>(frames);
        for (var f = 0; f < frames; f++)
        {
            var present = actors.Where(a => f >= a.From && f < a.To).Select(a =>
            {
                var (cx, cy) = a.Centre(f);
                var full = new NormalizedBox((float)(cx - (a.W / 2)), (float)(cy - (a.H / 2)), (float)a.W, (float)a.H);
                return (Actor: a, Full: full, Visible: full.Clamp());
            }).Where(x => x.Visible.W > 0 && x.Visible.H > 0).OrderBy(x => x.Actor.Depth).ToList();

            var truth = new List<Labeled>();
            var detections = new List<Detection>();
            for (var i = 0; i < present.Count; i++)
            {
                var (actor, full, visible) = present[i];
                var covered = 0f;
                for (var j = 0; j < i; j++)
                {
                    covered = Math.Max(covered, Intersection(visible, present[j].Visible) / visible.Area);
                }

                var visibleFraction = (visible.Area / full.Area) * (1 - covered);
                if (visibleFraction < 0.5)
                {
                    continue;
                }

                truth.Add(new Labeled(actor.Id, visible));
                if (rng.NextDouble() < miss || extraMiss?.Invoke(actor.Id, f) == true)
                {
                    continue;
                }

                var b = visible;
                var jitter = new NormalizedBox(
                    b.X + (float)(Gaussian(rng) * noise * b.W),
                    b.Y + (float)(Gaussian(rng) * noise * b.H),
                    b.W * (float)(1 + (Gaussian(rng) * noise)),
                    b.H * (float)(1 + (Gaussian(rng) * noise))).Clamp();
                detections.Add(new Detection(0, "face", (float)(0.72 + (0.26 * rng.NextDouble())), jitter));
            }

            if (rng.NextDouble() < falsePositives)
            {
                var s = (float)(0.05 + (0.1 * rng.NextDouble()));
                detections.Add(new Detection(0, "face", (float)(0.5 + (0.18 * rng.NextDouble())),
                    new NormalizedBox((float)rng.NextDouble() * (1 - s), (float)rng.NextDouble() * (1 - s), s, s)));
            }

            // The module runs NMS before tracking (BlazeFace's default IoU 0.3): of two heavily overlapping boxes the detector reports one.
            detections = detections.OrderByDescending(d => d.Score).ToList();
            var kept = new List<Detection>();
            foreach (var d in detections)
            {
                if (kept.TrueForAll(k => k.Box.IoU(d.Box) <= 0.3f))
                {
                    kept.Add(d);
                }
            }

            result.Add(new SceneFrame(1_700_000_000 + (f / Fps), truth, kept));
        }

        return result;
    }

    private static float Intersection(NormalizedBox a, NormalizedBox b)
    {
        var ix = Math.Max(0, Math.Min(a.X + a.W, b.X + b.W) - Math.Max(a.X, b.X));
        var iy = Math.Max(0, Math.Min(a.Y + a.H, b.Y + b.H) - Math.Max(a.Y, b.Y));
        return ix * iy;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
