using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Hub.Methods;
using Edge.Hub.Security;
using Edge.Hub.Twins;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Cloud;

/// <summary>
/// The cloud side on loopback (Kestrel minimal APIs): a mirror of the IoT Hub service REST endpoints used for edge deployments
/// (§16: module twins with ETag/If-Match, module methods, applyConfigurationContent) and the simulator's own endpoints under
/// <c>/simulator/</c> (upstream feed and live stream, status, inject, faults). Every request needs an <c>iothubowner</c> SAS token.
/// </summary>
internal sealed class CloudApi : IAsyncDisposable
{
    private CloudApi(WebApplication app, Uri uri)
    {
        App = app;
        Uri = uri;
    }

    public WebApplication App { get; }

    public Uri Uri { get; }

    public static async Task<CloudApi> StartAsync(EdgeHubSimulator sim, TwinService twins, MethodService methods, ConnectAuthenticator auth, SimulatorOptions options,
        ILoggerFactory loggerFactory, TimeProvider time, CancellationToken ct)
    {
        // No appsettings reload: its file watcher would watch the working directory recursively (the hub's state directory,
        // whose WAL changes on every message, may be below it).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, options.ApiPort));
        var app = builder.Build();
        var logger = loggerFactory.CreateLogger<CloudApi>();

        app.Use(async (ctx, next) =>
        {
            // The dashboard (mapped through ConfigureWebApp) checks its own access token.
            var dashboard = ctx.Request.Path == "/" || ctx.Request.Path.StartsWithSegments("/dashboard", StringComparison.Ordinal);
            if (!dashboard && !auth.TryAuthenticateService(ctx.Request.Headers.Authorization.ToString(), out var reason))
            {
                Log.ApiRefused(logger, 401, reason);
                await ErrorAsync(ctx, 401, 401002, "IotHubUnauthorizedAccess", reason).ConfigureAwait(false);
                return;
            }

            await next(ctx).ConfigureAwait(false);
        });

        MapIotHub(app, sim, twins, methods, options, time);
        MapSimulator(app, sim);
        options.ConfigureWebApp?.Invoke(app);
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new CloudApi(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/"));
    }

    /// <summary>
    /// If-Match: <c>"*"</c> (quoted, as the service SDK sends it for a forced update) and a bare <c>*</c> match any ETag;
    /// otherwise the header's tag, quotes and a weak <c>W/</c> prefix aside, must be the twin's.
    /// </summary>
    internal static bool IfMatches(string ifMatch, string etag)
    {
        var tag = ifMatch.Trim();
        if (tag.StartsWith("W/", StringComparison.Ordinal))
        {
            tag = tag[2..];
        }

        tag = tag.Trim('"');
        return tag == "*" || tag == etag.Trim('"');
    }

    /// <summary>IoT Hub error shape: <c>{"Message": "ErrorCode:...;...", "ExceptionMessage": ...}</c> plus <c>iothub-errorcode</c>.</summary>
    internal static Task ErrorAsync(HttpContext ctx, int status, int code, string errorCode, string message)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.Headers["iothub-errorcode"] = errorCode;
        var inner = new JsonObject { ["errorCode"] = code, ["trackingId"] = Guid.NewGuid().ToString("N"), ["message"] = message };
        var body = new JsonObject
        {
            ["Message"] = $"ErrorCode:{errorCode};{inner.ToJsonString()}",
            ["ExceptionMessage"] = message,
        };
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsync(body.ToJsonString());
    }

    private static bool CheckDevice(HttpContext ctx, SimulatorOptions options, string deviceId, out Task error)
    {
        if (!string.Equals(deviceId, options.DeviceId, StringComparison.Ordinal))
        {
            error = ErrorAsync(ctx, 404, 404001, "DeviceNotFound", $"Device {deviceId} not found on this hub.");
            return false;
        }

        error = Task.CompletedTask;
        return true;
    }

    /// <summary>The module twin, or null after answering 404 (unknown device or module) the way IoT Hub does.</summary>
    private static async Task<Storage.TwinDocument?> ReadTwinOrErrorAsync(HttpContext ctx, TwinService twins, SimulatorOptions options, string deviceId, string moduleId)
    {
        if (!CheckDevice(ctx, options, deviceId, out var error))
        {
            await error.ConfigureAwait(false);
            return null;
        }

        var twin = await twins.ReadAsync(moduleId, ctx.RequestAborted).ConfigureAwait(false);
        if (twin is null)
        {
            await ErrorAsync(ctx, 404, 404010, "ModuleNotFound", $"Module {moduleId} not found on device {deviceId}.").ConfigureAwait(false);
        }

        return twin;
    }

    private static JsonObject TwinJson(SimulatorOptions options, string module, Storage.TwinDocument twin) => new()
    {
        ["deviceId"] = options.DeviceId,
        ["moduleId"] = module,
        ["etag"] = twin.ETag.Trim('"'),
        ["version"] = twin.DesiredVersion + twin.ReportedVersion,
        ["status"] = "enabled",
        ["properties"] = new JsonObject
        {
            ["desired"] = Storage.TwinDocument.WithVersion(twin.Desired, twin.DesiredVersion),
            ["reported"] = Storage.TwinDocument.WithVersion(twin.Reported, twin.ReportedVersion),
        },
    };

    private static async Task<JsonObject?> ReadObjectAsync(HttpContext ctx)
    {
        try
        {
            return await JsonNode.ParseAsync(ctx.Request.Body, cancellationToken: ctx.RequestAborted).ConfigureAwait(false) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void MapIotHub(WebApplication app, EdgeHubSimulator sim, TwinService twins, MethodService methods, SimulatorOptions options, TimeProvider time)
    {
        app.MapGet("/twins/{deviceId}/modules/{moduleId}", async (HttpContext ctx, string deviceId, string moduleId) =>
        {
            var twin = await ReadTwinOrErrorAsync(ctx, twins, options, deviceId, moduleId).ConfigureAwait(false);
            if (twin is null)
            {
                return;
            }

            ctx.Response.Headers.ETag = twin.ETag;
            await ctx.Response.WriteAsJsonAsync(TwinJson(options, moduleId, twin), ctx.RequestAborted).ConfigureAwait(false);
        });

        app.MapMethods("/twins/{deviceId}/modules/{moduleId}", ["PATCH"], async (HttpContext ctx, string deviceId, string moduleId) =>
        {
            var twin = await ReadTwinOrErrorAsync(ctx, twins, options, deviceId, moduleId).ConfigureAwait(false);
            if (twin is null)
            {
                return;
            }

            var ifMatch = ctx.Request.Headers.IfMatch.ToString();
            if (ifMatch.Length > 0 && !IfMatches(ifMatch, twin.ETag))
            {
                await ErrorAsync(ctx, 412, 412002, "PreconditionFailed", $"ETag {ifMatch} does not match the twin's current {twin.ETag}.").ConfigureAwait(false);
                return;
            }

            var body = await ReadObjectAsync(ctx).ConfigureAwait(false);
            if (body?["properties"]?["desired"] is not JsonObject patch)
            {
                await ErrorAsync(ctx, 400, 400004, "ArgumentInvalid", "Body must be {\"properties\":{\"desired\":{...}}}.").ConfigureAwait(false);
                return;
            }

            var updated = await twins.PatchDesiredAsync(moduleId, patch, ctx.RequestAborted).ConfigureAwait(false);
            ctx.Response.Headers.ETag = updated.ETag;
            await ctx.Response.WriteAsJsonAsync(TwinJson(options, moduleId, updated), ctx.RequestAborted).ConfigureAwait(false);
        });

        app.MapPost("/twins/{deviceId}/modules/{moduleId}/methods", async (HttpContext ctx, string deviceId, string moduleId) =>
        {
            if (!CheckDevice(ctx, options, deviceId, out var error))
            {
                await error.ConfigureAwait(false);
                return;
            }

            var body = await ReadObjectAsync(ctx).ConfigureAwait(false);
            var name = body?["methodName"]?.GetValue<string>();
            if (string.IsNullOrEmpty(name) || name.Length > 100)
            {
                await ErrorAsync(ctx, 400, 400004, "ArgumentInvalid", "methodName is required (at most 100 characters).").ConfigureAwait(false);
                return;
            }

            var timeout = body!["responseTimeoutInSeconds"]?.GetValue<int>() ?? 30;
            if (timeout is < 5 or > 300)
            {
                await ErrorAsync(ctx, 400, 400004, "ArgumentInvalid", "responseTimeoutInSeconds must be between 5 and 300.").ConfigureAwait(false);
                return;
            }

            try
            {
                var (status, payload) = await methods.InvokeAsync(moduleId, name, body["payload"]?.DeepClone(), TimeSpan.FromSeconds(timeout), ctx.RequestAborted)
                    .ConfigureAwait(false);
                await ctx.Response.WriteAsJsonAsync(new JsonObject { ["status"] = status, ["payload"] = payload }, ctx.RequestAborted).ConfigureAwait(false);
            }
            catch (MethodInvocationException ex)
            {
                await ErrorAsync(ctx, ex.Status, ex.ErrorCode, ex.Status == 404 ? "DeviceNotOnline" : "GatewayTimeout", ex.Message).ConfigureAwait(false);
            }
        });

        app.MapPost("/devices/{deviceId}/applyConfigurationContent", async (HttpContext ctx, string deviceId) =>
        {
            if (!CheckDevice(ctx, options, deviceId, out var error))
            {
                await error.ConfigureAwait(false);
                return;
            }

            var body = await ReadObjectAsync(ctx).ConfigureAwait(false);
            if (body?["modulesContent"] is not JsonObject content)
            {
                await ErrorAsync(ctx, 400, 400004, "ArgumentInvalid", "Body must be {\"modulesContent\":{...}}.").ConfigureAwait(false);
                return;
            }

            await sim.ApplyDeploymentAsync(content, ctx.RequestAborted).ConfigureAwait(false);
            ctx.Response.StatusCode = 204;
        });
        _ = time;
    }

    private static void MapSimulator(WebApplication app, EdgeHubSimulator sim)
    {
        app.MapGet("/simulator/status", async (HttpContext ctx) =>
            await ctx.Response.WriteAsJsonAsync(await sim.GetStatusAsync(ctx.RequestAborted).ConfigureAwait(false), ctx.RequestAborted).ConfigureAwait(false));

        app.MapGet("/simulator/upstream", async (HttpContext ctx, int? count) =>
        {
            var list = sim.GetRecentUpstream(count ?? 100).Select(ToJson).ToList();
            await ctx.Response.WriteAsJsonAsync(new JsonArray([.. list]), ctx.RequestAborted).ConfigureAwait(false);
        });

        app.MapGet("/simulator/upstream/stream", async (HttpContext ctx) =>
        {
            // Register the reader before the headers go out: a client that sees the response misses nothing after it.
            var messages = sim.ReadUpstreamAsync(ctx.RequestAborted);
            ctx.Response.ContentType = "text/event-stream";
            ctx.Response.Headers.CacheControl = "no-cache";
            await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
            try
            {
                await foreach (var m in messages.ConfigureAwait(false))
                {
                    await ctx.Response.WriteAsync($"event: upstream\ndata: {ToJson(m).ToJsonString()}\n\n", ctx.RequestAborted).ConfigureAwait(false);
                    await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The reader went away.
            }
        });

        app.MapPost("/simulator/modules/{moduleId}/inputs/{input}", async (HttpContext ctx, string moduleId, string input) =>
        {
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted).ConfigureAwait(false);
            var props = ctx.Request.Query.Where(q => q.Key != "api-version")
                .ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
            var contentType = ctx.Request.ContentType;
            await sim.InjectAsync(moduleId, input, ms.ToArray(), props, string.IsNullOrEmpty(contentType) ? null : contentType.Split(';')[0].Trim(),
                ctx.RequestAborted).ConfigureAwait(false);
            ctx.Response.StatusCode = 202;
        });

        app.MapPost("/simulator/faults/upstream/{state}", (string state) =>
        {
            switch (state)
            {
                case "offline": sim.SetUpstreamOnline(false); return Results.NoContent();
                case "online": sim.SetUpstreamOnline(true); return Results.NoContent();
                default: return Results.BadRequest(new { Message = "state must be offline or online" });
            }
        });

        app.MapPost("/simulator/faults/latency/{ms:int}", (int ms) =>
        {
            if (ms < 0)
            {
                return Results.BadRequest(new { Message = "latency must be >= 0 ms" });
            }

            sim.SetUpstreamLatency(TimeSpan.FromMilliseconds(ms));
            return Results.NoContent();
        });

        app.MapPost("/simulator/faults/drop/{moduleId}", async (HttpContext ctx, string moduleId) =>
        {
            await sim.DisconnectModuleAsync(moduleId, ctx.RequestAborted).ConfigureAwait(false);
            ctx.Response.StatusCode = 204;
        });

        app.MapPost("/simulator/faults/restart", async (HttpContext ctx) =>
        {
            await sim.RestartAsync(ctx.RequestAborted).ConfigureAwait(false);
            ctx.Response.StatusCode = 204;
        });
    }

    internal static JsonObject ToJson(UpstreamMessage m)
    {
        string? text = null;
        try
        {
            text = new UTF8Encoding(false, true).GetString(m.Body.Span);
        }
        catch (DecoderFallbackException)
        {
        }

        var props = new JsonObject();
        foreach (var (k, v) in m.Properties)
        {
            props[k] = v;
        }

        var sys = new JsonObject();
        foreach (var (k, v) in m.SystemProperties)
        {
            sys[k] = v;
        }

        return new JsonObject
        {
            ["sourceModuleId"] = m.SourceModuleId,
            ["outputName"] = m.OutputName,
            ["enqueuedAt"] = m.EnqueuedAt,
            ["body"] = text,
            ["bodyBase64"] = text is null ? Convert.ToBase64String(m.Body.Span) : null,
            ["properties"] = props,
            ["systemProperties"] = sys,
        };
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync().ConfigureAwait(false);
        await App.DisposeAsync().ConfigureAwait(false);
    }
}
