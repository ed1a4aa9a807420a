using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CameraCapture;

/// <summary>Registers the capture module.</summary>
public static class CaptureServiceCollectionExtensions
{
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
        return services;
    }
}

/// <summary>Settings defaults from configuration and what was wrong with them.</summary>
internal sealed record CaptureDefaults(CaptureSettings Settings, IReadOnlyList<string> Errors);
