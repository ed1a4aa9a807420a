using OpenCvSharp;

namespace CameraCapture.Tests;

/// <summary>Media the tests make with real encoders, in a temporary folder deleted on dispose.</summary>
internal sealed class TestMedia : IDisposable
{
    public TestMedia()
    {
        Root = Path.Combine(Path.GetTempPath(), "capture-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>
    /// An MJPG .avi whose frame i is a flat grey of level <see cref="LevelOf"/>(i), so a decoded frame tells its index.
    /// </summary>
    public string IndexedVideo(int frames, double fps, int width = 320, int height = 240, string name = "indexed.avi")
    {
        var path = Path.Combine(Root, name);
        using var writer = new VideoWriter(path, FourCC.MJPG, fps, new Size(width, height));
        writer.IsOpened().ShouldBeTrue("VideoWriter MJPG must open");
        for (var i = 0; i < frames; i++)
        {
            using var frame = new Mat(height, width, MatType.CV_8UC3, Scalar.All(LevelOf(i)));
            writer.Write(frame);
        }

        return path;
    }

    /// <summary>The grey level of frame <paramref name="index"/> in <see cref="IndexedVideo"/>.</summary>
    public static int LevelOf(int index) => 10 + (index * 4 % 240);

    /// <summary>The index encoded in a decoded frame of <see cref="IndexedVideo"/> (frames below 60 are unambiguous).</summary>
    public static int IndexOf(Mat frame) => (int)Math.Round((Cv2.Mean(frame).Val0 - 10) / 4.0);

    /// <summary>A folder of <paramref name="count"/> JPEG images named 000.jpg.. with grey levels like <see cref="IndexedVideo"/>.</summary>
    public string ImageFolder(int count, string name = "images")
    {
        var dir = Path.Combine(Root, name);
        Directory.CreateDirectory(dir);
        for (var i = 0; i < count; i++)
        {
            using var image = new Mat(120, 160, MatType.CV_8UC3, Scalar.All(LevelOf(i)));
            Cv2.ImWrite(Path.Combine(dir, $"{i:D3}.jpg"), image).ShouldBeTrue();
        }

        return dir;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
