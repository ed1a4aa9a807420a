using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CameraCapture;

/// <summary>Registers the capture module.</summary>
public static class CaptureServiceCollectionExtensions
{
    private const string FramesOutput = "frames";
    private const long FramesOutboxMaxBytes = 8L * 1024 * 1024;
    private static readonly TimeSpan FramesOutboxTtl = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Registers the capture service (cameras to the <c>frames</c> output, health to <c>health</c>, methods <c>snapshot</c>
    /// and <c>getStatus</c>), with defaults from <paramref name="configuration"/> (see docs/configuration.md).
    /// Requires <see cref="Edge.Runtime.IModuleClient"/> (<c>AddEdgeModule</c>).
    /// </summary>
    public static IServiceCollection AddCameraCapture(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IFrameSourceFactory, FrameSourceFactory>();
        services.TryAddSingleton<CaptureMetrics>();
        services.AddSingleton(_ => new CaptureDefaults(CaptureConfiguration.FromConfiguration(configuration, out var errors), errors));
        services.AddSingleton<CaptureService>();
        services.AddHostedService(sp => sp.GetRequiredService<CaptureService>());

        // Frames are latest-value data: when edgeHub or Inference is slow or away, keep the newest few seconds, not a 256 MB
        // backlog of stale frames (health events keep the runtime's durable defaults). Outbox__Outputs__frames__* overrides.
        services.Configure<Edge.Runtime.OutboxOptions>(o =>
        {
            var frames = o.Outputs.TryGetValue(FramesOutput, out var configured) ? configured : new Edge.Runtime.OutboxOutputOptions();
            frames.FullPolicy ??= Edge.Runtime.OutboxFullPolicy.DropOldest;
            frames.MaxBytes ??= FramesOutboxMaxBytes;
            frames.Ttl ??= FramesOutboxTtl;
            o.Outputs[FramesOutput] = frames;
        });
        return services;
    }
}

/// <summary>Settings defaults from configuration and what was wrong with them.</summary>
internal sealed record CaptureDefaults(CaptureSettings Settings, IReadOnlyList<string> Errors);
