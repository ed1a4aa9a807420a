using Edge.TestSupport;
using Inference.Models;
using Inference.Processing;
using OpenCvSharp;

namespace Inference.Tests;

public sealed class BlazeFaceTests
{
    private static readonly SessionConfig Cpu = new("cpu", 1);

    internal static Mat MegamindFrame100()
    {
        using var capture = new VideoCapture(Assets.Megamind);
        capture.Set(VideoCaptureProperties.PosFrames, 100);
        var frame = new Mat();
        capture.Read(frame).ShouldBeTrue();
        return frame;
    }

    private static LoadedModel Load(string path, ResizeMode? resize = null) =>
        LoadedModel.Load(path, "test", new ModelSettings { Url = path, Resize = resize }, null, Cpu);

    private static List<Detection> Detect(LoadedModel model, Mat frame)
    {
        var raw = new List<Detection>();
        model.Infer(frame, 0.5f, model.DefaultNmsIou, raw);
        return DetectionFilter.Apply(raw, new ThresholdSettings());
    }

    [Fact]
    public void Infer_MegamindFrame100Front128_FindsTheFace()
    {
        using var model = Load(Assets.BlazeFaceFront128);
        using var frame = MegamindFrame100();
        var faces = Detect(model, frame);
        faces.Count.ShouldBe(1);
        var f = faces[0];
        f.Score.ShouldBeGreaterThan(0.8f);
        (f.Box.X * frame.Width).ShouldBe(420, 8);
        (f.Box.Y * frame.Height).ShouldBe(141, 8);
        (f.Box.W * frame.Width).ShouldBe(147, 8);
        (f.Box.H * frame.Height).ShouldBe(147, 8);
        f.Keypoints!.Length.ShouldBe(6);
        f.Label.ShouldBe("face");
    }
}

public sealed class BlazeFaceMoreTests
{
    private static readonly SessionConfig Cpu = new("cpu", 1);

    [Fact]
    public void Infer_MessiBack256_FindsMessisFace()
    {
        var path = Assets.BlazeFaceBack256;
        using var model = LoadedModel.Load(path, "test", new ModelSettings { Url = path }, null, Cpu);
        using var frame = Cv2.ImRead(Assets.Messi);
        var raw = new List<Detection>();
        model.Infer(frame, 0.5f, model.DefaultNmsIou, raw);
        var best = DetectionFilter.Apply(raw, new ThresholdSettings()).First();

        best.Score.ShouldBeGreaterThan(0.8f);
        (best.Box.X * frame.Width).ShouldBe(222, 6);
        (best.Box.Y * frame.Height).ShouldBe(96, 6);
        (best.Box.W * frame.Width).ShouldBe(36, 6);
        (best.Box.H * frame.Height).ShouldBe(36, 6);
    }

    [Fact]
    public void Infer_BlankFrame_DetectsNothing()
    {
        var path = Assets.BlazeFaceFront128;
        using var model = LoadedModel.Load(path, "test", new ModelSettings { Url = path }, null, Cpu);
        using var frame = new Mat(480, 640, MatType.CV_8UC3, Scalar.All(128));
        var raw = new List<Detection>();
        model.Infer(frame, 0.5f, model.DefaultNmsIou, raw);
        DetectionFilter.Apply(raw, new ThresholdSettings()).ShouldBeEmpty();
    }
}
