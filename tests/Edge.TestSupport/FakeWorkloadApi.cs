using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Edge.TestSupport;

/// <summary>One request the fake workload API received.</summary>
public sealed record WorkloadRequest(string Method, string PathAndQuery, string Body);

/// <summary>
/// The edgelet workload API (a boundary we do not own) over a real unix socket: answers <c>POST .../sign</c> with
/// HMAC-SHA256 under a module key and <c>GET /trust-bundle</c> with a PEM, and records every request.
/// </summary>
public sealed class FakeWorkloadApi : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;

    public FakeWorkloadApi(string socketPath, string base64Key, string trustBundlePem)
    {
        SocketPath = socketPath;
        Key = base64Key;
        TrustBundlePem = trustBundlePem;
        if (File.Exists(socketPath))
        {
            File.Delete(socketPath);
        }

        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(16);
        _loop = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath { get; }

    public string Key { get; }

    public string TrustBundlePem { get; set; }

    /// <summary>When set, every request is answered with this status and <c>{"message": ...}</c>.</summary>
    public int? FailWith { get; set; }

    public ConcurrentQueue<WorkloadRequest> Requests { get; } = new();

    public string Uri => "unix://" + SocketPath;

    private async Task AcceptLoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket s;
            try
            {
                s = await _listener.AcceptAsync(_cts.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_cts.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(s));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var buffer = new List<byte>();
        var chunk = new byte[4096];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
        {
            var n = await stream.ReadAsync(chunk).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            buffer.AddRange(chunk.AsSpan(0, n));
        }

        var head = Encoding.ASCII.GetString([.. buffer.Take(headerEnd)]);
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        var length = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        while (buffer.Count < headerEnd + 4 + length)
        {
            var n = await stream.ReadAsync(chunk).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            buffer.AddRange(chunk.AsSpan(0, n));
        }

        var body = Encoding.UTF8.GetString([.. buffer.Skip(headerEnd + 4).Take(length)]);
        Requests.Enqueue(new WorkloadRequest(parts[0], parts[1], body));
        var (status, json) = Answer(parts[0], parts[1], body);
        var bytes = Encoding.UTF8.GetBytes(json);
        var response = $"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response)).ConfigureAwait(false);
        await stream.WriteAsync(bytes).ConfigureAwait(false);
    }

    private (int, string) Answer(string method, string path, string body)
    {
        if (FailWith is { } fail)
        {
            return (fail, new JsonObject { ["message"] = "injected failure" }.ToJsonString());
        }

        if (method == "POST" && path.Contains("/sign?api-version=", StringComparison.Ordinal))
        {
            var data = Convert.FromBase64String(JsonNode.Parse(body)!["data"]!.GetValue<string>());
            var digest = Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(Key), data));
            return (200, new JsonObject { ["digest"] = digest }.ToJsonString());
        }

        if (method == "GET" && path.StartsWith("/trust-bundle?api-version=", StringComparison.Ordinal))
        {
            return (200, new JsonObject { ["certificate"] = TrustBundlePem }.ToJsonString());
        }

        return (404, new JsonObject { ["message"] = "not found" }.ToJsonString());
    }

    private static int IndexOf(List<byte> haystack, ReadOnlySpan<byte> needle)
    {
        for (var i = 0; i + needle.Length <= haystack.Count; i++)
        {
            var match = true;
            for (var j = 0; j < needle.Length && match; j++)
            {
                match = haystack[i + j] == needle[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _cts.Dispose();
        File.Delete(SocketPath);
    }
}
