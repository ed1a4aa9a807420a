using Microsoft.Extensions.Time.Testing;
using OpenCvSharp;

namespace CameraCapture.Tests;

public sealed class SourceTests
{
    private static readonly CameraSettings Camera = new() { Id = "cam1", Source = "x" };

    [Fact]
    public void VideoFile_ReadAtTargetRate_DeliversFrameForMediaTimeAndSkipsTheRest()
    {
        using var media = new TestMedia();
        var path = media.IndexedVideo(frames: 50, fps: 25);
        SourceSpec.TryParse(path, out var spec, out _).ShouldBeTrue();
        using var source = VideoCaptureSource.Open(spec, Camera with { Loop = false });
        source.IsLive.ShouldBeFalse();
        source.NativeFps.ShouldBe(25, 0.01);
        using var frame = new Mat();

        // 5 fps against a 25 fps file: media times 0, 0.2, 0.4 ... give frames 0, 5, 10 ...
        for (var k = 0; k < 10; k++)
        {
            source.Read(TimeSpan.FromSeconds(k * 0.2), frame).ShouldBe(ReadStatus.Frame);
            TestMedia.IndexOf(frame).ShouldBe(k * 5);
        }

        source.SkippedFrames.ShouldBe(9 * 4);
        source.Read(TimeSpan.FromSeconds(1.81), frame).ShouldBe(ReadStatus.NoNewFrame, "same frame index as 1.8 s");
        source.Read(TimeSpan.FromSeconds(2.5), frame).ShouldBe(ReadStatus.EndOfStream);
    }

    [Fact]
    public void VideoFile_ReadAtNativeRateWithJitterAtAFrameBoundary_DeliversEveryFrameOnce()
    {
        using var media = new TestMedia();
        var path = media.IndexedVideo(frames: 40, fps: 25);
        SourceSpec.TryParse(path, out var spec, out _).ShouldBeTrue();
        using var source = VideoCaptureSource.Open(spec, Camera with { Loop = false });
        using var frame = new Mat();

        // A pacer at the file's own rate whose ticks sit just past a frame boundary and arrive ±2 ms (0.05 frame) late or early:
        // the frame for each tick must be the next one, never "nothing new" followed by a skip.
        for (var k = 0; k < 40; k++)
        {
            var jitter = k % 2 == 0 ? 0.05 : -0.05;
            source.Read(TimeSpan.FromSeconds((k + 0.02 + jitter) / 25), frame).ShouldBe(ReadStatus.Frame, $"tick {k}");
            TestMedia.IndexOf(frame).ShouldBe(k);
        }

        source.SkippedFrames.ShouldBe(0);
    }

    [Fact]
    public void VideoFile_MotionJpeg_DecodesPacketsLikeFfmpeg()
    {
        // A realistic frame (the synthetic pattern), so the libjpeg-turbo decode is compared on texture, not flat grey.
        using var media = new TestMedia();
        var path = Path.Combine(media.Root, "pattern.avi");
        SourceSpec.TryParse("synthetic:320x240@10", out var synthSpec, out _).ShouldBeTrue();
        using (var synthetic = new SyntheticSource(synthSpec!, "cam", TimeProvider.System))
        using (var writer = new VideoWriter(path, FourCC.MJPG, 10, new Size(320, 240)))
        using (var image = new Mat())
        {
            for (var i = 0; i < 10; i++)
            {
                synthetic.Render(i, image);
                writer.Write(image);
            }
        }

        SourceSpec.TryParse(path, out var spec, out _).ShouldBeTrue();
        using var source = VideoCaptureSource.Open(spec, Camera with { Loop = false });
        source.DecodesPackets.ShouldBeTrue("MJPG is read as packets");
        using var reference = new VideoCapture(path, VideoCaptureAPIs.FFMPEG);
        using var expected = new Mat();
        using var frame = new Mat();
        using var diff = new Mat();
        for (var k = 0; k < 10; k += 3)
        {
            source.Read(TimeSpan.FromSeconds(k * 0.1), frame).ShouldBe(ReadStatus.Frame);
            while (reference.Get(VideoCaptureProperties.PosFrames) < k)
            {
                reference.Grab().ShouldBeTrue();
            }

            reference.Read(expected).ShouldBeTrue();
            frame.Size().ShouldBe(expected.Size());
            frame.Type().ShouldBe(MatType.CV_8UC3);
            Cv2.Absdiff(frame, expected, diff);
            Cv2.Mean(diff).Val0.ShouldBeLessThan(2.0, $"frame {k}: same picture as FFmpeg's decode (IDCT rounding aside)");
        }

        source.SkippedFrames.ShouldBe(6);
        source.ReadErrors.ShouldBe(0);
    }

    [Fact]
    public void VideoFile_OtherCodec_DecodedByFfmpeg()
    {
        SourceSpec.TryParse("file://" + Edge.TestSupport.Assets.Megamind, out var spec, out _).ShouldBeTrue();
        using var source = VideoCaptureSource.Open(spec, Camera);
        source.DecodesPackets.ShouldBeFalse("XviD is not Motion-JPEG");
    }

    [Fact]
    public void VideoFile_FfmpegDecoded_EndOfFileKeepsTheLastFrame()
    {
        // The pipeline decodes a pull source into the one buffer snapshots copy: the end of the file must not empty it.
        using var media = new TestMedia();
        var path = Path.Combine(media.Root, "grey.mp4");
        using (var writer = new VideoWriter(path, FourCC.MP4V, 10, new Size(160, 120)))
        {
            writer.IsOpened().ShouldBeTrue("VideoWriter mp4v must open");
            for (var i = 0; i < 5; i++)
            {
                using var image = new Mat(120, 160, MatType.CV_8UC3, Scalar.All(TestMedia.LevelOf(i)));
                writer.Write(image);
            }
        }

        SourceSpec.TryParse(path, out var spec, out _).ShouldBeTrue();
        using var source = VideoCaptureSource.Open(spec, Camera with { Loop = false });
        source.DecodesPackets.ShouldBeFalse();
        using var frame = new Mat();
        source.Read(TimeSpan.FromSeconds(0.45), frame).ShouldBe(ReadStatus.Frame);
        var last = Cv2.Mean(frame).Val0;
        source.Read(TimeSpan.FromSeconds(0.5), frame).ShouldBe(ReadStatus.EndOfStream, "frame 5 is the one after the last");
        frame.Empty().ShouldBeFalse("the last frame is still there");
        Cv2.Mean(frame).Val0.ShouldBe(last);
    }

    [Fact]
    public void VideoFile_Loop_RewindsAtTheEnd()
    {
        using var media = new TestMedia();
        var path = media.IndexedVideo(frames: 20, fps: 10);
        SourceSpec.TryParse(path, out var spec, out _).ShouldBeTrue();
        using var source = VideoCaptureSource.Open(spec, Camera with { Loop = true });
        using var frame = new Mat();
        source.Read(TimeSpan.FromSeconds(1.5), frame).ShouldBe(ReadStatus.Frame);
        TestMedia.IndexOf(frame).ShouldBe(15);

        // 2.3 s is frame 23 of the media clock: the file has 20, so it rewinds and delivers frame 3.
        source.Read(TimeSpan.FromSeconds(2.3), frame).ShouldBe(ReadStatus.Frame);
        TestMedia.IndexOf(frame).ShouldBe(3);
        source.Read(TimeSpan.FromSeconds(2.5), frame).ShouldBe(ReadStatus.Frame);
        TestMedia.IndexOf(frame).ShouldBe(5);
    }

    [Fact]
    public void VideoFile_Megamind_DecodesRealXvidAtNativeRate()
    {
        SourceSpec.TryParse("file://" + Edge.TestSupport.Assets.Megamind, out var spec, out _).ShouldBeTrue();
        using var source = VideoCaptureSource.Open(spec, Camera);
        source.NativeFps.ShouldBe(23.98, 0.05);
        using var frame = new Mat();
        var delivered = 0;
        for (var k = 0; k < 10; k++)
        {
            if (source.Read(TimeSpan.FromSeconds(k * 0.2), frame) == ReadStatus.Frame)
            {
                delivered++;
            }
        }

        delivered.ShouldBe(10);
        (frame.Cols, frame.Rows).ShouldBe((720, 528));
        
        // Media time 1.8 s is frame floor(1.8 * 23.976) = 43: 44 frames passed, 10 delivered.
        source.SkippedFrames.ShouldBe(34);
    }

    [Fact]
    public void VideoFile_Missing_IsPermanentOpenError()
    {
        SourceSpec.TryParse("/nonexistent/cam.avi", out var spec, out _).ShouldBeTrue();
        var ex = Should.Throw<SourceOpenException>(() => VideoCaptureSource.Open(spec, Camera));
        ex.Permanent.ShouldBeTrue();
        ex.Message.ShouldContain("does not exist");
    }

    [Fact]
    public void VideoFile_NotAVideo_IsPermanentOpenError()
    {
        using var media = new TestMedia();
        var path = Path.Combine(media.Root, "junk.avi");
        File.WriteAllBytes(path, new byte[4096]);
        SourceSpec.TryParse(path, out var spec, out _).ShouldBeTrue();
        var ex = Should.Throw<SourceOpenException>(() => VideoCaptureSource.Open(spec, Camera));
        ex.Permanent.ShouldBeTrue();
    }

    [Fact]
    public void Stream_Unreachable_IsTransientOpenError()
    {
        // Port 9 on loopback: connection refused at once.
        SourceSpec.TryParse("rtsp://127.0.0.1:9/none", out var spec, out _).ShouldBeTrue();
        var ex = Should.Throw<SourceOpenException>(() => VideoCaptureSource.Open(spec, Camera with { StallTimeoutSeconds = 2 }));
        ex.Permanent.ShouldBeFalse();
        ex.Message.ShouldContain("cannot open stream");
    }

    [Fact]
    public void Folder_FileDeletedMidStream_SkipsItReportsAndContinues()
    {
        using var media = new TestMedia();
        var dir = media.ImageFolder(5);
        using var source = FolderSource.Open(dir, loop: false);
        using var frame = new Mat();
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.Frame);
        TestMedia.IndexOf(frame).ShouldBe(0);

        File.Delete(Path.Combine(dir, "001.jpg"));
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.Frame);
        TestMedia.IndexOf(frame).ShouldBe(2);
        source.ReadErrors.ShouldBe(1);
        source.LastError!.ShouldContain("001.jpg");

        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.Frame);
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.Frame);
        TestMedia.IndexOf(frame).ShouldBe(4);
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.NoNewFrame, "a drop folder waits for new images");

        Directory.Delete(dir, recursive: true);
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.Failed);
        source.LastError!.ShouldContain("disappeared");
    }

    [Fact]
    public void Folder_NewImageArrives_IsDeliveredNext()
    {
        using var media = new TestMedia();
        var dir = media.ImageFolder(2);
        using var source = FolderSource.Open(dir, loop: false);
        using var frame = new Mat();
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.Frame);
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.Frame);
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.NoNewFrame);
        File.Copy(Path.Combine(dir, "000.jpg"), Path.Combine(dir, "002.jpg"));
        source.Read(TimeSpan.Zero, frame).ShouldBe(ReadStatus.Frame);
        TestMedia.IndexOf(frame).ShouldBe(0);
    }

    [Fact]
    public void Synthetic_SameFrameNumber_RendersIdenticalPixels()
    {
        var time = new FakeTimeProvider();
        SourceSpec.TryParse("synthetic:320x240@10", out var spec, out _).ShouldBeTrue();
        using var a = new SyntheticSource(spec, "cam1", time);
        using var b = new SyntheticSource(spec, "cam1", time);
        using var fa = new Mat();
        using var fb = new Mat();
        a.Read(TimeSpan.FromSeconds(1.25), fa).ShouldBe(ReadStatus.Frame);
        b.Read(TimeSpan.FromSeconds(1.25), fb).ShouldBe(ReadStatus.Frame);
        (fa.Cols, fa.Rows).ShouldBe((320, 240));
        using var diff = new Mat();
        Cv2.Absdiff(fa, fb, diff);
        Cv2.CountNonZero(diff.Reshape(1)).ShouldBe(0);
        a.Read(TimeSpan.FromSeconds(1.29), fa).ShouldBe(ReadStatus.NoNewFrame);
        a.Read(TimeSpan.FromSeconds(1.5), fa).ShouldBe(ReadStatus.Frame);
        a.SkippedFrames.ShouldBe(2);
    }
}
