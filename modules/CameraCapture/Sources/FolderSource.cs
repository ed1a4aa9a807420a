using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// A folder of images (jpg, jpeg, png, bmp, webp, tif, tiff), one per tick in ordinal name order. The folder is rescanned
/// at the end of each pass, so it also works as a drop folder. A file that disappears or does not decode is skipped and
/// reported; a folder that disappears fails the source.
/// </summary>
internal sealed class FolderSource : IFrameSource
{
    private static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff" };

    private readonly string _path;
    private readonly bool _loop;
    private string[] _files = [];
    private int _next;
    private string? _lastDelivered;

    private FolderSource(string path, bool loop)
    {
        _path = path;
        _loop = loop;
    }

    public bool IsLive => false;

    public long SkippedFrames { get; private set; }

    /// <summary>Images that could not be read (deleted mid-stream or undecodable).</summary>
    public long ReadErrors { get; private set; }

    public string? LastError { get; private set; }

    public static FolderSource Open(string path, bool loop)
    {
        if (!Directory.Exists(path))
        {
            throw new SourceOpenException($"image folder '{path}' does not exist", permanent: true);
        }

        var source = new FolderSource(path, loop);
        source.Rescan(fromStart: true);
        return source;
    }

    public ReadStatus Read(TimeSpan mediaTime, Mat destination)
    {
        for (var attempts = 0; attempts < 2; attempts++)
        {
            while (_next < _files.Length)
            {
                var file = _files[_next++];
                using var image = TryRead(file);
                if (image is not null)
                {
                    image.CopyTo(destination);
                    _lastDelivered = Path.GetFileName(file);
                    return ReadStatus.Frame;
                }
            }

            if (!Directory.Exists(_path))
            {
                LastError = $"image folder '{_path}' disappeared";
                return ReadStatus.Failed;
            }

            Rescan(fromStart: _loop);
        }

        return ReadStatus.NoNewFrame;
    }

    public void Dispose()
    {
    }

    private Mat? TryRead(string file)
    {
        var image = File.Exists(file) ? Cv2.ImRead(file, ImreadModes.Color) : null;
        if (image is null || image.Empty())
        {
            image?.Dispose();
            ReadErrors++;
            LastError = File.Exists(file) ? $"image '{file}' could not be decoded" : $"image '{file}' disappeared before it was read";
            return null;
        }

        return image;
    }

    private void Rescan(bool fromStart)
    {
        try
        {
            var all = Directory.EnumerateFiles(_path)
                .Where(f => Extensions.Contains(Path.GetExtension(f)))
                .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
                .ToArray();
            _files = fromStart || _lastDelivered is null
                ? all
                : all.Where(f => string.CompareOrdinal(Path.GetFileName(f), _lastDelivered) > 0).ToArray();
            _next = 0;
        }
        catch (IOException)
        {
            _files = [];
            _next = 0;
        }
        catch (UnauthorizedAccessException ex)
        {
            _files = [];
            _next = 0;
            LastError = ex.Message;
        }
    }
}
