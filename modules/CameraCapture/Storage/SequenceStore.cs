using System.Globalization;

namespace CameraCapture;

/// <summary>
/// Per-camera message sequence numbers that survive restarts and never repeat after a crash. The file holds a reservation:
/// the first number not yet handed out by any run. Numbers are reserved in blocks (the reservation is written, flushed to
/// disk and renamed into place before any number of the block is used), so a crash skips at most one block; a clean
/// <see cref="Dispose"/> writes the exact next number so a graceful restart continues without a gap.
/// </summary>
internal sealed class SequenceStore : IDisposable
{
    /// <summary>Numbers reserved per disk write.</summary>
    public const long BlockSize = 1000;

    private readonly string _path;
    private readonly Lock _gate = new();
    private long _next;
    private long _reservedUntil;
    private bool _disposed;

    public SequenceStore(string directory, string cameraId)
    {
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, $"seq-{cameraId}.txt");
        _next = _reservedUntil = ReadReservation(_path);
    }

    /// <summary>The file that holds the reservation.</summary>
    public string FilePath => _path;

    /// <summary>The number the next call to <see cref="Next"/> returns.</summary>
    public long Peek()
    {
        lock (_gate)
        {
            return _next;
        }
    }

    /// <summary>The next sequence number (the first one ever is 1).</summary>
    public long Next()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_next >= _reservedUntil)
            {
                _reservedUntil = _next + BlockSize;
                Write(_path, _reservedUntil);
            }

            return _next++;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_next != _reservedUntil)
            {
                Write(_path, _next);
            }
        }
    }

    private static long ReadReservation(string path)
    {
        // The highest reservation wins: a crash between writing the temporary file and renaming it leaves the newer one there.
        long best = 1;
        foreach (var candidate in new[] { path, path + ".tmp" })
        {
            try
            {
                if (File.Exists(candidate) &&
                    long.TryParse(File.ReadAllText(candidate).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                {
                    best = Math.Max(best, value);
                }
            }
            catch (IOException)
            {
            }
        }

        return best;
    }

    private static void Write(string path, long value)
    {
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 64, FileOptions.None))
        {
            var bytes = System.Text.Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture));
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
    }
}
