using Microsoft.Extensions.Time.Testing;
using OpenCvSharp;

namespace CameraCapture.Tests;

public sealed class ProcessingTests
{
    [Fact]
    public void Encode_4KAtQuality100_FitsUnder256KBAndDecodes()
    {
        SourceSpec.TryParse("synthetic:3840x2160", out var spec, out _).ShouldBeTrue();
        using var source = new SyntheticSource(spec, "cam4k", new FakeTimeProvider());
        using var frame = new Mat();
        source.Read(TimeSpan.FromSeconds(1), frame).ShouldBe(ReadStatus.Frame);
        using var encoder = new FrameEncoder();

        const int budget = (256 * 1024) - 4096;
        var jpeg = encoder.Encode(frame, frame.Size(), 100, budget).ShouldNotBeNull();
        jpeg.Bytes.Length.ShouldBeLessThanOrEqualTo(budget);
        jpeg.Reductions.ShouldBeGreaterThan(0, "a 4K frame at quality 100 is megabytes");
        using var decoded = Cv2.ImDecode(jpeg.Bytes, ImreadModes.Color);
        (decoded.Cols, decoded.Rows).ShouldBe((jpeg.Width, jpeg.Height));
    }

    [Fact]
    public void Encode_SmallFrame_KeepsRequestedQualityAndSize()
    {
        using var frame = new Mat(480, 640, MatType.CV_8UC3, new Scalar(10, 120, 200));
        using var encoder = new FrameEncoder();
        var jpeg = encoder.Encode(frame, FrameEncoder.TargetSize(frame.Size(), 320, 0), 85, 256 * 1024).ShouldNotBeNull();
        (jpeg.Width, jpeg.Height, jpeg.Quality, jpeg.Reductions).ShouldBe((320, 240, 85, 0));
    }

    [Theory]
    [InlineData(0, 0, 640, 480)]
    [InlineData(320, 0, 320, 240)]
    [InlineData(0, 240, 320, 240)]
    [InlineData(100, 100, 100, 100)]
    public void TargetSize_Combinations_KeepAspectWhenOneIsZero(int w, int h, int ew, int eh) =>
        FrameEncoder.TargetSize(new Size(640, 480), w, h).ShouldBe(new Size(ew, eh));

    [Fact]
    public void MotionGate_StaticSceneWithClock_ScoresBelowDefaultThreshold_MovingSceneAbove()
    {
        var time = new FakeTimeProvider();
        SourceSpec.TryParse("synthetic:640x480@5,static", out var staticSpec, out _).ShouldBeTrue();
        SourceSpec.TryParse("synthetic:640x480@5", out var movingSpec, out _).ShouldBeTrue();
        using var still = new SyntheticSource(staticSpec, "cam1", time);
        using var moving = new SyntheticSource(movingSpec, "cam1", time);
        using var gateStill = new MotionGate();
        using var gateMoving = new MotionGate();
        using var frame = new Mat();
        var defaults = new MotionSettings();
        double maxStill = 0, minMoving = 1;
        for (var k = 0; k < 20; k++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            still.Read(TimeSpan.FromSeconds(k * 0.2), frame);
            var s = gateStill.Score(frame, defaults.PixelDelta);
            moving.Read(TimeSpan.FromSeconds(k * 0.2), frame);
            var m = gateMoving.Score(frame, defaults.PixelDelta);
            if (k > 0)
            {
                maxStill = Math.Max(maxStill, s);
                minMoving = Math.Min(minMoving, m);
            }
        }

        maxStill.ShouldBeLessThan(defaults.Threshold);
        minMoving.ShouldBeGreaterThan(defaults.Threshold);
    }

    [Fact]
    public void Fingerprint_RepeatedFrame_IsSame_NoisyStaticScene_IsNot()
    {
        using var fp = new FrameFingerprint();
        using var a = new Mat(480, 640, MatType.CV_8UC3, Scalar.All(100));
        fp.SameAsPrevious(a).ShouldBeFalse();
        fp.SameAsPrevious(a).ShouldBeTrue();
        fp.SameAsPrevious(a).ShouldBeTrue();

        using var noisy = a.Clone();
        Cv2.Randn(noisy, Scalar.All(100), Scalar.All(2));
        fp.SameAsPrevious(noisy).ShouldBeFalse();
    }
}
