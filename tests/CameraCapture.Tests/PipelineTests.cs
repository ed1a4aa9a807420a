using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Edge.Runtime;
using OpenCvSharp;

namespace CameraCapture.Tests;

public sealed class PipelineTests
{
    [Fact]
    public async Task Pacing_Synthetic30FpsAt5Fps_OneFramePerTickWithProperties()
    {
        await using var h = new Harness();
        var cam = await h.StartAsync(new CameraSettings { Id = "cam1", Source = "synthetic:320x240@30", Fps = 5 });

        // 3 simulated seconds at 5 fps.
        await h.TickAsync(cam, 15);
        await Harness.Eventually(() => cam.Counters.Sent == 15, "15 frames sent");
        var frames = h.Client.Drain(CaptureService.FramesOutput);
        frames.Count.ShouldBe(15);
        cam.Counters.Skipped.ShouldBe(14 * 5, "a 30 fps source at 5 fps passes over 5 frames per tick");

        var seqs = frames.Select(f => long.Parse(f.Properties["seq"], CultureInfo.InvariantCulture)).ToList();
        seqs.ShouldBe(Enumerable.Range(1, 15).Select(i => (long)i));
        var first = frames[0];
        first.ContentType.ShouldBe("image/jpeg");
        first.Properties["cameraId"].ShouldBe("cam1");
        first.Properties["width"].ShouldBe("320");
        first.Properties["height"].ShouldBe("240");
        first.MessageId.ShouldNotBeNullOrEmpty();
        frames.Select(f => f.MessageId).Distinct().Count().ShouldBe(15);

        // capturedAt follows the paced clock: 200 ms apart, in round-trip format.
        var times = frames.Select(f => DateTimeOffset.Parse(f.Properties["capturedAt"], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)).ToList();
        times.Zip(times.Skip(1), (a, b) => b - a).ShouldAllBe(d => d == TimeSpan.FromMilliseconds(200));
        first.Properties["capturedAt"].ShouldEndWith("Z");
        using var decoded = Cv2.ImDecode(first.Body.ToArray(), ImreadModes.Color);
        (decoded.Cols, decoded.Rows).ShouldBe((320, 240));
        h.Errors().ShouldBeEmpty();
    }

    [Fact]
    public async Task Pacing_IndexedVideoFile_SendsTheFrameForEachTickAtNativeRate()
    {
        using var media = new TestMedia();
        var path = media.IndexedVideo(frames: 50, fps: 25);
        await using var h = new Harness();
        var cam = await h.StartAsync(new CameraSettings { Id = "file", Source = "file://" + path, Fps = 5, Loop = false });
        await h.TickAsync(cam, 9);
        await Harness.Eventually(() => cam.Counters.Sent == 9, "9 frames sent");
        var indexes = h.Client.Drain(CaptureService.FramesOutput).Select(f =>
        {
            using var m = Cv2.ImDecode(f.Body.ToArray(), ImreadModes.Color);
            return TestMedia.IndexOf(m);
        }).ToList();
        indexes.ShouldBe([5, 10, 15, 20, 25, 30, 35, 40, 45]);
    }

    [Fact]
    public async Task SlowSender_StaleFramesDroppedAndCounted_CaptureKeepsPace()
    {
        await using var h = new Harness();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        h.Client.OnSend = async (o, m, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await release.Task.WaitAsync(ct);
            }

            return new SendResult(SendStatus.Accepted, calls);
        };
        var cam = await h.StartAsync(new CameraSettings { Id = "cam1", Source = "synthetic:160x120@30", Fps = 5 });

        await h.TickAsync(cam, 1, waitSent: false);
        await Harness.Eventually(() => Volatile.Read(ref calls) == 1, "first send in flight");
        await h.TickAsync(cam, 9, waitSent: false);
        cam.Counters.Captured.ShouldBe(10, "capture never waits for the blocked send");

        // One frame is in the blocked send, two wait in the channel, seven were dropped as stale.
        await Harness.Eventually(() => cam.Counters.DroppedStale == 7, "7 stale drops");
        release.SetResult();
        await Harness.Eventually(() => cam.Counters.Sent == 3, "3 sent");
        var sent = h.Client.Drain(CaptureService.FramesOutput);
        var captured = sent.Select(f => DateTimeOffset.Parse(f.Properties["capturedAt"], CultureInfo.InvariantCulture)).ToList();
        var start = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
        captured.ShouldBe([start.AddMilliseconds(200), start.AddMilliseconds(1800), start.AddMilliseconds(2000)], "the newest frames survive");
    }

    [Fact]
    public async Task MotionGate_StaticScene_SendsOnlyKeepAlives()
    {
        await using var h = new Harness();
        var cam = await h.StartAsync(new CameraSettings
        {
            Id = "cam1",
            Source = "synthetic:320x240@5,static",
            Fps = 5,
            Motion = new MotionSettings { Enabled = true, KeepAliveSeconds = 2 },
        });

        // 6 s at 5 fps: the first frame (no background yet) and then one keep-alive every 2 s.
        await h.TickAsync(cam, 30);
        await Harness.Eventually(() => cam.Counters.Sent == 3, "3 frames sent");
        var sent = h.Client.Drain(CaptureService.FramesOutput);
        sent.Count.ShouldBe(3);
        sent.Skip(1).ShouldAllBe(m => m.Properties["keepAlive"] == "true");
        cam.Counters.Gated.ShouldBe(27);
        cam.Counters.KeepAlives.ShouldBe(2);
    }

    [Fact]
    public async Task MotionGate_MovingScene_SendsEveryFrame()
    {
        await using var h = new Harness();
        var cam = await h.StartAsync(new CameraSettings
        {
            Id = "cam1",
            Source = "synthetic:320x240@5",
            Fps = 5,
            Motion = new MotionSettings { Enabled = true, KeepAliveSeconds = 60 },
        });
        await h.TickAsync(cam, 10);
        await Harness.Eventually(() => cam.Counters.Sent == 10, "10 frames sent");
        cam.Counters.Gated.ShouldBe(0);
        h.Client.Drain(CaptureService.FramesOutput).ShouldAllBe(m => !m.Properties.ContainsKey("keepAlive") && m.Properties.ContainsKey("motionScore"));
    }

    [Fact]
    public async Task Inline_4KQuality100_EveryMessageUnder256KB()
    {
        await using var h = new Harness();
        var cam = await h.StartAsync(new CameraSettings { Id = "cam4k", Source = "synthetic:3840x2160@5", Fps = 1, JpegQuality = 100 });
        await h.TickAsync(cam, 2);
        await Harness.Eventually(() => cam.Counters.Sent == 2, "2 frames sent", 30);
        foreach (var m in h.Client.Drain(CaptureService.FramesOutput))
        {
            var size = m.Body.Length + m.Properties.Sum(p => p.Key.Length + p.Value.Length) + (m.MessageId?.Length ?? 0) + (m.ContentType?.Length ?? 0);
            size.ShouldBeLessThan(256 * 1024);
            using var decoded = Cv2.ImDecode(m.Body.ToArray(), ImreadModes.Color);
            decoded.Empty().ShouldBeFalse();
            m.Properties["width"].ShouldBe(decoded.Cols.ToString(CultureInfo.InvariantCulture));
        }

        cam.Counters.ResizedToFit.ShouldBe(2);
    }

    [Fact]
    public async Task Reference_HighResolution_WritesFileAndSendsPathSizeAndSha256()
    {
        await using var h = new Harness();
        var cam = await h.StartAsync(new CameraSettings
        {
            Id = "big",
            Source = "synthetic:1920x1080@5",
            Fps = 5,
            JpegQuality = 95,
            Transport = FrameTransport.Reference,
        });
        await h.TickAsync(cam, 1);
        var m = await h.Client.NextAsync(CaptureService.FramesOutput);
        m.ContentType.ShouldBe("application/json");
        var path = m.Properties["frameRef"];
        var bytes = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        m.Properties["frameSize"].ShouldBe(bytes.Length.ToString(CultureInfo.InvariantCulture));
        m.Properties["frameSha256"].ShouldBe(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        var body = JsonNode.Parse(m.BodyAsString())!;
        body["frameRef"]!.GetValue<string>().ShouldBe(path);
        m.Body.Length.ShouldBeLessThan(1024);
        using var decoded = Cv2.ImDecode(bytes, ImreadModes.Color);
        (decoded.Cols, decoded.Rows).ShouldBe((1920, 1080), "full resolution, no size cap");
    }

    [Fact]
    public async Task Seq_RestartOfThePipeline_ContinuesWhereItStopped()
    {
        await using var h = new Harness();
        var settings = new CameraSettings { Id = "cam1", Source = "synthetic:160x120@5", Fps = 5 };
        var first = new CameraPipeline(settings, h.Context());
        first.Start();
        await first.PacingStarted;
        await first.FirstOpened;
        await h.TickAsync(first, 4);
        await Harness.Eventually(() => first.Counters.Sent == 4, "4 sent");
        await first.DisposeAsync();

        var second = await h.StartAsync(settings);
        await h.TickAsync(second, 3);
        await Harness.Eventually(() => second.Counters.Sent == 3, "3 sent");
        h.Client.Drain(CaptureService.FramesOutput).Select(f => f.Properties["seq"]).ShouldBe(["1", "2", "3", "4", "5", "6", "7"]);
    }

    [Fact]
    public async Task Health_StalledSource_EventThenRecovery()
    {
        var factory = new ScriptedSourceFactory();
        await using var h = new Harness(factory);
        var cam = await h.StartAsync(new CameraSettings { Id = "cam1", Source = "device:0", Fps = 5, StallTimeoutSeconds = 2 });
        await h.TickAsync(cam, 2);
        cam.Health.State.ShouldBe(CameraState.Streaming);

        factory.Current!.Stalled = true;
        await h.TickAsync(cam, 10);
        cam.Health.State.ShouldBe(CameraState.Stalled);
        factory.Current.Stalled = false;
        await h.TickAsync(cam, 1);
        cam.Health.State.ShouldBe(CameraState.Streaming);
        h.HealthEvents.Select(e => e.State).ShouldBe([CameraState.Streaming, CameraState.Stalled, CameraState.Streaming]);
    }

    [Fact]
    public async Task Health_FrozenSource_DetectedFromIdenticalFrames()
    {
        var factory = new ScriptedSourceFactory();
        await using var h = new Harness(factory);
        var cam = await h.StartAsync(new CameraSettings { Id = "cam1", Source = "device:0", Fps = 5, FrozenTimeoutSeconds = 3 });
        await h.TickAsync(cam, 2);
        factory.Current!.Frozen = true;
        await h.TickAsync(cam, 16);
        cam.Health.State.ShouldBe(CameraState.Frozen);
        cam.Counters.Sent.ShouldBeGreaterThan(0, "frozen frames still flow; the health output says they are frozen");
        var frozen = h.HealthEvents.Last();
        frozen.State.ShouldBe(CameraState.Frozen);
        frozen.Reason!.ShouldContain("identical");
    }

    [Fact]
    public async Task Reconnect_SourceFailsThenRecovers_BacksOffAndStreamsAgain()
    {
        var factory = new ScriptedSourceFactory();
        await using var h = new Harness(factory);
        var cam = await h.StartAsync(new CameraSettings { Id = "cam1", Source = "device:0", Fps = 5, ReconnectMaxDelaySeconds = 4 });
        await h.TickAsync(cam, 2);
        var firstSource = factory.Current!;
        factory.FailOpens = 2;
        firstSource.Fail = true;
        await h.TickAsync(cam, 1);
        await Harness.Eventually(() => firstSource.Disposed, "failed source disposed");

        // Retry delays are at most 4 s each (exponential with jitter, capped); 40 ticks = 8 s covers two of them.
        await h.TickAsync(cam, 40);

        // The retry timers are created asynchronously, so keep the fake clock moving while waiting.
        await Harness.Eventually(() =>
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(200));
            return factory.Opens == 4;
        }, "two failed reopen attempts then success");

        // The reopened source's first frame arrives on the grabber thread: wait for the health to say so (fake clock moving).
        await Harness.Eventually(() =>
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(200));
            return cam.Health.State == CameraState.Streaming;
        }, "streaming again after the reconnect");
        cam.Counters.Reconnects.ShouldBe(2);
        h.HealthEvents.Select(e => e.State).ShouldContain(CameraState.Reconnecting);
        h.Logger.Collector.GetSnapshot().ShouldContain(r => r.Message.Contains("device not found (scripted)"));
        h.Errors().ShouldBeEmpty();
    }

    [Fact]
    public async Task BadSource_MissingFile_FailedWithClearErrorAndOtherCamerasUnaffected()
    {
        await using var h = new Harness();
        var bad = await h.StartAsync(new CameraSettings { Id = "bad", Source = "/nonexistent/cam.avi", Fps = 5 }, waitOpen: false);
        var good = await h.StartAsync(new CameraSettings { Id = "good", Source = "synthetic:160x120@5", Fps = 5 });
        await Harness.Eventually(() => bad.Counters.Reconnects >= 1, "first open failure");
        await h.TickAsync(good, 3);
        await Harness.Eventually(() => good.Counters.Sent == 3, "3 sent by the good camera");
        bad.Health.State.ShouldBe(CameraState.Failed);
        bad.StatusJson()["error"]!.GetValue<string>().ShouldContain("does not exist");
        good.Counters.Sent.ShouldBe(3);
        good.Health.State.ShouldBe(CameraState.Streaming);
    }

    [Fact]
    public async Task FolderSource_ImageDeletedMidStream_SkippedCountedAndStreamContinues()
    {
        using var media = new TestMedia();
        var dir = media.ImageFolder(6);
        await using var h = new Harness();
        var cam = await h.StartAsync(new CameraSettings { Id = "dir", Source = "folder:" + dir, Fps = 5, Loop = false, StallTimeoutSeconds = 2 });
        await h.TickAsync(cam, 2);
        File.Delete(Path.Combine(dir, "002.jpg"));
        File.Delete(Path.Combine(dir, "003.jpg"));
        await h.TickAsync(cam, 2);
        await Harness.Eventually(() => cam.Counters.Sent == 4, "4 sent");
        cam.Counters.ReadErrors.ShouldBe(2);
        var levels = h.Client.Drain(CaptureService.FramesOutput).Select(f =>
        {
            using var m = Cv2.ImDecode(f.Body.ToArray(), ImreadModes.Color);
            return TestMedia.IndexOf(m);
        });
        levels.ShouldBe([0, 1, 4, 5]);

        // Nothing new arrives: stalled, with the reason reported.
        await h.TickAsync(cam, 12);
        cam.Health.State.ShouldBe(CameraState.Stalled);
    }

    [Fact]
    public async Task Snapshot_LatestFrame_WithinMaxBytes()
    {
        await using var h = new Harness();
        var cam = await h.StartAsync(new CameraSettings { Id = "cam1", Source = "synthetic:1280x720@5", Fps = 5 });
        cam.Snapshot(65536).ShouldBeNull("no frame yet");
        await h.TickAsync(cam, 1);
        var (jpeg, at) = cam.Snapshot(20_000).ShouldNotBeNull();
        jpeg.Bytes.Length.ShouldBeLessThanOrEqualTo(20_000);
        at.ShouldBe(h.Time.GetUtcNow());
        using var decoded = Cv2.ImDecode(jpeg.Bytes, ImreadModes.Color);
        decoded.Empty().ShouldBeFalse();
    }

    [Fact]
    public async Task LiveSource_FrameArrivingWhenDue_SentAtOnceAndRateStillBounded()
    {
        var factory = new LiveSourceFactory();
        await using var h = new Harness(factory);
        var cam = await h.StartAsync(new CameraSettings { Id = "usb", Source = "/dev/video0", Fps = 5 });
        var camera = factory.Opened.Single();

        // A tick with no frame: nothing to send. The slot stays open.
        await h.TickAsync(cam, 1, waitSent: false);
        cam.Counters.Sent.ShouldBe(0);

        // The frame arrives after its slot began: it is sent at once, without waiting for the next tick (time stands still).
        camera.Deliver();
        var m = await h.Client.NextAsync(CaptureService.FramesOutput);
        using (var decoded = Cv2.ImDecode(m.Body.ToArray(), ImreadModes.Color))
        {
            TestMedia.IndexOf(decoded).ShouldBe(1);
        }

        cam.Counters.Ticks.ShouldBe(1, "sent on arrival, not on a tick");

        // The next frame arrives early in the next slot: it waits for its slot; a newer one supersedes it meanwhile.
        camera.Deliver(2);
        await Harness.Eventually(() => camera.Delivered == 3, "2 more frames read");
        await Harness.Eventually(() => cam.Counters.Skipped == 1, "the first of them superseded");
        cam.Counters.Sent.ShouldBe(1, "not due yet: at most one frame per period");
        await h.TickAsync(cam, 1);
        cam.Counters.Sent.ShouldBe(2);
        using (var decoded = Cv2.ImDecode((await h.Client.NextAsync(CaptureService.FramesOutput)).Body.ToArray(), ImreadModes.Color))
        {
            TestMedia.IndexOf(decoded).ShouldBe(3);
        }

        var stop = cam.DisposeAsync().AsTask();
        camera.Unplug();
        await stop.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task LiveSource_FasterThanTarget_PacerTakesOnlyTheNewestFrame()
    {
        var factory = new LiveSourceFactory();
        await using var h = new Harness(factory);
        var cam = await h.StartAsync(new CameraSettings { Id = "usb", Source = "/dev/video0", Fps = 5 });
        var camera = factory.Opened.Single();

        // The camera delivers 4 frames between two ticks: only the 4th is sent, 3 are counted as skipped.
        camera.Deliver(4);
        await Harness.Eventually(() => camera.Delivered == 4, "4 frames read");
        await Harness.Eventually(() => cam.Counters.Skipped == 3, "3 superseded");
        await h.TickAsync(cam, 1);
        var m = await h.Client.NextAsync(CaptureService.FramesOutput);
        using (var decoded = Cv2.ImDecode(m.Body.ToArray(), ImreadModes.Color))
        {
            TestMedia.IndexOf(decoded).ShouldBe(4);
        }

        // No new frame: the next tick sends nothing rather than repeating the old one.
        await h.TickAsync(cam, 1);
        cam.Counters.Sent.ShouldBe(1);

        // Unplugged: the reader stops, the source is reopened (first retry after about 1 s) and frames flow again.
        camera.Unplug();
        await Harness.Eventually(() => cam.Health.LastError is not null, "loss noticed");
        await Harness.Eventually(() =>
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(200));
            return factory.Opened.Count == 2;
        }, "reopened");
        factory.Opened[1].Deliver();
        await Harness.Eventually(() => factory.Opened[1].Delivered == 1, "frame from the new source");
        await Harness.Eventually(() =>
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(200));
            return cam.Counters.Sent == 2;
        }, "sent after reconnect");
        h.Errors().ShouldBeEmpty();

        // Stopping waits for the reader, which is blocked in the "driver" until the camera is unplugged.
        var stop = cam.DisposeAsync().AsTask();
        factory.Opened.ForEach(s => s.Unplug());
        await stop.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }
}
