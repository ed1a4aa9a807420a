namespace CameraCapture.Tests;

public sealed class SourceSpecTests
{
    [Theory]
    [InlineData("synthetic", SourceKind.Synthetic, "synthetic")]
    [InlineData("synthetic:1280x720", SourceKind.Synthetic, "synthetic")]
    [InlineData("/dev/video0", SourceKind.Device, "/dev/video0")]
    [InlineData("device:0", SourceKind.Device, "0")]
    [InlineData("device:/dev/video2", SourceKind.Device, "/dev/video2")]
    [InlineData("rtsp://cam.local:554/stream1", SourceKind.Stream, "rtsp://cam.local:554/stream1")]
    [InlineData("http://cam.local/mjpeg", SourceKind.Stream, "http://cam.local/mjpeg")]
    [InlineData("file:///videos/x.avi", SourceKind.File, "/videos/x.avi")]
    [InlineData("/videos/x.avi", SourceKind.File, "/videos/x.avi")]
    [InlineData("folder:/images", SourceKind.Folder, "/images")]
    internal void TryParse_KnownForms_ParsesKindAndLocation(string text, SourceKind kind, string location)
    {
        SourceSpec.TryParse(text, out var spec, out var error).ShouldBeTrue(error);
        spec.Kind.ShouldBe(kind);
        spec.Location.ShouldBe(location);
    }

    [Fact]
    public void TryParse_SyntheticWithOptions_ReadsSizeFpsAndStatic()
    {
        SourceSpec.TryParse("synthetic:3840x2160@12.5,static", out var spec, out _).ShouldBeTrue();
        spec.ShouldBe(new SourceSpec(SourceKind.Synthetic, "synthetic", 3840, 2160, 12.5, true));
        SourceSpec.TryParse("synthetic", out var plain, out _).ShouldBeTrue();
        (plain.Width, plain.Height, plain.Fps, plain.Static).ShouldBe((640, 480, 30d, false));
    }

    [Fact]
    public void TryParse_DirectoryPath_IsFolder()
    {
        using var media = new TestMedia();
        SourceSpec.TryParse(media.Root, out var spec, out _).ShouldBeTrue();
        spec.Kind.ShouldBe(SourceKind.Folder);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("synthetic:big", "not WIDTHxHEIGHT")]
    [InlineData("synthetic:9999x9999", "out of range")]
    [InlineData("ftp://host/x", "unsupported URL scheme")]
    [InlineData("device:", "needs an index")]
    public void TryParse_Invalid_ExplainsWhy(string text, string expected)
    {
        SourceSpec.TryParse(text, out _, out var error).ShouldBeFalse();
        error.ShouldContain(expected);
    }

    [Fact]
    public void ToString_StreamWithCredentials_RedactsThem()
    {
        SourceSpec.TryParse("rtsp://admin:secret@10.0.0.5/live", out var spec, out _).ShouldBeTrue();
        spec.ToString().ShouldBe("rtsp://***@10.0.0.5/live");
        spec.Location.ShouldContain("secret");
    }
}
