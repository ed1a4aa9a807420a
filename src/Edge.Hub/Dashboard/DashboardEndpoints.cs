using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Edge.Hub.Dashboard;

/// <summary>What the dashboard reads and the switches it may pull; wired by <c>edge up</c>.</summary>
public sealed class DashboardSources
{
    public required PipelineMonitor Monitor { get; init; }

    /// <summary>Access token carried in the printed URL (<c>?token=</c>) and then in a cookie. Loopback only, still never open.</summary>
    public string Token { get; init; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    public required Func<object> HubStatus { get; init; }
    public required Func<object> Modules { get; init; }
    public required Func<string, CancellationToken, Task<JsonObject>> GetTwin { get; init; }
    public required Func<string, JsonObject, CancellationToken, Task> PatchDesired { get; init; }
    public required Action<bool> SetUpstreamOnline { get; init; }
    public required Func<bool> UpstreamOnline { get; init; }
    public required Func<string, CancellationToken, Task> RestartModule { get; init; }
    public required Func<CancellationToken, Task> RestartHub { get; init; }
}

/// <summary>The live dashboard: one page at <c>/</c> and a small JSON API under <c>/dashboard/api</c>.</summary>
public static class DashboardEndpoints
{
    private const string Cookie = "edge-dashboard";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static void MapDashboard(this IEndpointRouteBuilder app, DashboardSources sources)
    {
        var page = LoadPage();

        app.MapGet("/", (HttpContext ctx) =>
        {
            if (ctx.Request.Query["token"] == sources.Token)
            {
                ctx.Response.Cookies.Append(Cookie, sources.Token, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict });
                return Results.Redirect("/");
            }

            return Authorized(ctx, sources)
                ? Results.Content(page, "text/html; charset=utf-8")
                : Results.Content("Open the dashboard with the URL that `edge up` printed (it carries the access token).", "text/plain", statusCode: 401);
        });

        var api = app.MapGroup("/dashboard/api").AddEndpointFilter(async (ctx, next) =>
            Authorized(ctx.HttpContext, sources) ? await next(ctx).ConfigureAwait(false) : Results.Unauthorized());

        api.MapGet("/state", () => Results.Json(
            new
            {
                pipeline = sources.Monitor.Snapshot(),
                history = sources.Monitor.History(),
                hub = sources.HubStatus(),
                modules = sources.Modules(),
                upstreamOnline = sources.UpstreamOnline(),
            },
            Json));

        api.MapGet("/frame/{cameraId}", (string cameraId) =>
            sources.Monitor.LatestFrame(cameraId) is { } jpeg ? Results.File(jpeg, "image/jpeg") : Results.NotFound());

        api.MapGet("/twins/{moduleId}", async (string moduleId, CancellationToken ct) =>
            Results.Json(await sources.GetTwin(moduleId, ct).ConfigureAwait(false), Json));

        api.MapPatch("/twins/{moduleId}", async (string moduleId, HttpRequest request, CancellationToken ct) =>
        {
            JsonObject? patch;
            try
            {
                patch = await JsonNode.ParseAsync(request.Body, cancellationToken: ct).ConfigureAwait(false) as JsonObject;
            }
            catch (JsonException ex)
            {
                return Results.BadRequest(new { message = $"desired properties must be a JSON object: {ex.Message}" });
            }

            if (patch is null)
            {
                return Results.BadRequest(new { message = "desired properties must be a JSON object" });
            }

            await sources.PatchDesired(moduleId, patch, ct).ConfigureAwait(false);
            return Results.Json(await sources.GetTwin(moduleId, ct).ConfigureAwait(false), Json);
        });

        api.MapPost("/faults/upstream/{state}", (string state) =>
        {
            if (state is not ("online" or "offline"))
            {
                return Results.BadRequest(new { message = "state is online or offline" });
            }

            sources.SetUpstreamOnline(state == "online");
            return Results.Ok(new { upstreamOnline = sources.UpstreamOnline() });
        });

        api.MapPost("/faults/restart-module/{moduleId}", async (string moduleId, CancellationToken ct) =>
        {
            await sources.RestartModule(moduleId, ct).ConfigureAwait(false);
            return Results.Ok(new { restarted = moduleId });
        });

        api.MapPost("/faults/restart-hub", async (CancellationToken ct) =>
        {
            await sources.RestartHub(ct).ConfigureAwait(false);
            return Results.Ok(new { restarted = "hub" });
        });
    }

    private static bool Authorized(HttpContext ctx, DashboardSources sources)
    {
        var presented = ctx.Request.Cookies[Cookie] ?? ctx.Request.Headers["X-Dashboard-Token"].ToString();
        return presented.Length == sources.Token.Length
            && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(presented), Encoding.ASCII.GetBytes(sources.Token));
    }

    private static string LoadPage()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Edge.Hub.Dashboard.dashboard.html")
            ?? throw new InvalidOperationException("dashboard.html is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
