using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Edge.Deployment.Tests.IoTHub;

/// <summary>One request the fake hub received.</summary>
internal sealed record RecordedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body);

/// <summary>
/// A stand-in for the IoT Hub service REST endpoint (the cloud is a boundary we do not control): a Kestrel minimal API
/// on loopback that records every request and answers with whatever the test scripts.
/// </summary>
internal sealed class FakeIoTHub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<RecordedRequest> _requests = [];

    private FakeIoTHub(WebApplication app) => _app = app;

    /// <summary>Answers each request; default 200 with <c>{}</c>.</summary>
    public Func<RecordedRequest, HttpContext, Task> Respond { get; set; } = (_, ctx) => Reply(ctx, 200, "{}");

    public Uri Endpoint { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public static async Task<FakeIoTHub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var hub = new FakeIoTHub(app);
        app.Run(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync(ctx.RequestAborted);
            var headers = ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var request = new RecordedRequest(ctx.Request.Method, ctx.Request.Path.ToUriComponent(), ctx.Request.QueryString.Value ?? "", headers, body);
            lock (hub._requests)
            {
                hub._requests.Add(request);
            }

            await hub.Respond(request, ctx);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Urls.First();
        hub.Endpoint = new Uri(address);
        return hub;
    }

    public static Task Reply(HttpContext ctx, int status, string? body, params (string Name, string Value)[] headers)
    {
        ctx.Response.StatusCode = status;
        foreach (var (name, value) in headers)
        {
            ctx.Response.Headers[name] = value;
        }

        if (body is null)
        {
            return Task.CompletedTask;
        }

        ctx.Response.ContentType = "application/json; charset=utf-8";
        return ctx.Response.WriteAsync(body, ctx.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
