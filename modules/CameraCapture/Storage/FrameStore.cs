using System.Security.Cryptography;

namespace CameraCapture;

/// <summary>A frame written to the shared frame store.</summary>
internal sealed record StoredFrame(string Path, long Size, string Sha256);

/// <summary>
/// The shared folder for by-reference frames: <c>{root}/{cameraId}/{seq}.jpg</c>, written to a temporary name and renamed,
/// so a reader never sees a partial file. Cleaned by age and by total size, oldest first.
/// </summary>
internal sealed class FrameStore
{
    private readonly TimeProvider _timeProvider;

    public FrameStore(string root, TimeProvider timeProvider)
    {
        Root = Path.GetFullPath(root);
        _timeProvider = timeProvider;
    }

    public string Root { get; }

    /// <summary>Writes <paramref name="jpeg"/> for a camera and sequence number and returns its path, size and SHA-256 (hex).</summary>
    public async Task<StoredFrame> WriteAsync(string cameraId, long seq, ReadOnlyMemory<byte> jpeg, CancellationToken ct)
    {
        var dir = Path.Combine(Root, cameraId);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"{seq:D12}.jpg");
        var tmp = path + ".part";
        await File.WriteAllBytesAsync(tmp, jpeg, ct).ConfigureAwait(false);
        File.Move(tmp, path, overwrite: true);
        var sha = Convert.ToHexStringLower(SHA256.HashData(jpeg.Span));
        return new StoredFrame(path, jpeg.Length, sha);
    }

    /// <summary>Deletes frames older than <paramref name="maxAge"/>, then the oldest until the total is at most <paramref name="maxBytes"/>.</summary>
    /// <returns>The number of files deleted.</returns>
    public int Cleanup(TimeSpan maxAge, long maxBytes)
    {
        if (!Directory.Exists(Root))
        {
            return 0;
        }

        var now = _timeProvider.GetUtcNow();
        var files = new List<FileInfo>();
        foreach (var dir in new DirectoryInfo(Root).EnumerateDirectories())
        {
            // Only files this store wrote ({seq:D12}.jpg): a frame store pointed at a folder with other content never loses it.
            files.AddRange(dir.EnumerateFiles("????????????.jpg").Where(f => IsOurs(f.Name, ".jpg")));
            files.AddRange(dir.EnumerateFiles("????????????.jpg.part").Where(f => IsOurs(f.Name, ".jpg.part") && now - f.LastWriteTimeUtc > TimeSpan.FromMinutes(1)));
        }

        files.Sort((a, b) => a.LastWriteTimeUtc.CompareTo(b.LastWriteTimeUtc));
        var total = files.Sum(f => f.Length);
        var deleted = 0;
        foreach (var file in files)
        {
            if (now - new DateTimeOffset(file.LastWriteTimeUtc) <= maxAge && total <= maxBytes)
            {
                break;
            }

            var length = file.Length;
            try
            {
                file.Delete();
                deleted++;
                total -= length;
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return deleted;
    }

    private static bool IsOurs(string name, string suffix) =>
        name.Length == 12 + suffix.Length && name.EndsWith(suffix, StringComparison.Ordinal) && name.AsSpan(0, 12).IndexOfAnyExceptInRange('0', '9') < 0;
}
