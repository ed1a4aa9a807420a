using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Supervisor;

/// <summary>
/// A module's stdout/stderr: each line goes to <c>logs/{id}.log</c> (timestamped, rolled once at a size cap) and to the
/// caller's callback. Supervisor lifecycle lines are written to the file too, prefixed <c>supervisor:</c>.
/// </summary>
internal sealed class ModuleOutput : IDisposable
{
    private readonly string _moduleId;
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly Action<string, string>? _callback;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private FileStream? _file;
    private bool _fileBroken;
    private bool _disposed;

    public ModuleOutput(string moduleId, string path, long maxBytes, Action<string, string>? callback, TimeProvider time, ILogger logger)
    {
        _moduleId = moduleId;
        _path = path;
        _maxBytes = maxBytes;
        _callback = callback;
        _time = time;
        _logger = logger;
    }

    public string Path => _path;

    /// <summary>Copies lines from a module's stream until it ends or <paramref name="ct"/> fires.</summary>
    public async Task PumpAsync(StreamReader reader, string stream, CancellationToken ct)
    {
        try
        {
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                Write(stream, line);
                if (_callback is not null)
                {
                    try
                    {
                        _callback(_moduleId, line);
                    }
                    catch (Exception ex)
                    {
                        Log.HandlerFailed(_logger, ex);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException)
        {
            // The process is gone or the supervisor is shutting down.
        }
    }

    public void Write(string stream, string line)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{_time.GetUtcNow():yyyy-MM-ddTHH:mm:ss.fffZ} {stream}: {line}\n");
        var bytes = Encoding.UTF8.GetBytes(text);
        lock (_gate)
        {
            if (_disposed || _fileBroken)
            {
                return;
            }

            try
            {
                _file ??= Open();
                if (_file.Length + bytes.Length > _maxBytes && _file.Length > 0)
                {
                    _file.Dispose();
                    File.Move(_path, _path + ".1", overwrite: true);
                    _file = Open();
                }

                _file.Write(bytes);
                _file.Flush();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _fileBroken = true;
                Log.LogFileFailed(_logger, _moduleId, _path, ex);
            }
        }
    }

    private FileStream Open()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
        return new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _file?.Dispose();
            _file = null;
        }
    }
}
