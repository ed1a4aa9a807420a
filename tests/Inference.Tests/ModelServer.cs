using System.Net;
using Edge.TestSupport;

namespace Inference.Tests;

/// <summary>Serves files over HTTP on loopback (the model URL is a boundary): path -> bytes.</summary>
internal sealed class ModelServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public ModelServer()
    {
        Port = LoopbackPort.Free();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public Dictionary<string, byte[]> Files { get; } = [];

    public int Requests;

    /// <summary>Real time to wait before answering (a slow link).</summary>
    public TimeSpan Delay { get; set; }

    public string Url(string name) => $"http://127.0.0.1:{Port}/{name}";

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            Interlocked.Increment(ref Requests);
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, TimeProvider.System, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            if (Files.TryGetValue(ctx.Request.Url!.AbsolutePath.TrimStart('/'), out var bytes))
            {
                ctx.Response.ContentLength64 = bytes.Length;
                await ctx.Response.OutputStream.WriteAsync(bytes);
            }
            else
            {
                ctx.Response.StatusCode = 404;
            }

            ctx.Response.Close();
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }
}
